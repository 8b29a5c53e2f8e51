/** What the scheduler is asked to generate, and what it reports back, one event at a time. */
import type { ToolSpec } from './tool-calls';

/** A model as the api resolved it: a built-in architecture or an artifact directory in the shared store. */
export interface ModelRef {
  id: string;
  builtin: string | null;
  artifactKey: string | null;
  /** Local folder with the weights, filled in by the inference server from artifact storage (its ModelFiles). */
  dir?: string;
}

/** A tool call as chat templates read it: `arguments` parsed to an object when it is JSON (HF convention). */
export interface PromptToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: unknown };
}

export interface PromptMessage {
  role: string;
  content: string;
  name?: string;
  tool_calls?: PromptToolCall[];
  tool_call_id?: string;
}

export type Prompt =
  | {
      kind: 'chat';
      messages: PromptMessage[];
      /** The request's tools, in the form chat templates read (`[{type: "function", function: {…}}]`). */
      tools?: unknown[];
    }
  | { kind: 'text'; text: string }
  | { kind: 'tokens'; tokens: number[] };

/**
 * The form the output must take (OpenAI's `response_format`): free text, or text that a constraint automaton accepts
 * (see constraints.ts). New formats (a JSON schema, tool calls) add a member here and a case in `outputConstraint`.
 */
export type OutputFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  /** A JSON schema (structured outputs), compiled where the sequence is decoded (json-schema.ts). */
  | { type: 'json_schema'; schema: Record<string, unknown> }
  /** Exactly one call of one of these functions (`tool_choice` required or named; tool-calls.ts). */
  | { type: 'tool_call'; tools: ToolSpec[] };

export interface GenerationRequest {
  id: string;
  model: ModelRef;
  /** One or more prompts (legacy completions accept arrays); each gets `n` choices, indexed prompt × n + choice. */
  prompts: Prompt[];
  n: number;
  /** Null: up to the model's context. */
  maxTokens: number | null;
  temperature: number;
  topP: number;
  seed: number | null;
  stop: string[];
  /** Return per-token log-probs (and `topLogprobs` alternatives). */
  logprobs: boolean;
  topLogprobs: number;
  /** Constrains decoding to this format (`response_format`). */
  format: OutputFormat;
  /** Which parameter names the prompt in context-length errors (`messages` or `prompt`). */
  promptParam: string;
  /**
   * Which parameter set `maxTokens` (`max_tokens`, `max_completion_tokens`), named by a context-length error when the
   * prompt fits but prompt + budget does not; absent when the budget is a default.
   */
  maxTokensParam?: string;
}

export interface TokenLogprobInfo {
  token: string;
  logprob: number;
  bytes: number[];
  top: { token: string; logprob: number; bytes: number[] }[];
}

/** What the scheduler reports about a request, in order: accepted, deltas and finishes, then done (or an error). */
export type GenerationEvent =
  | { type: 'accepted'; id: string; promptTokens: number }
  | { type: 'delta'; id: string; choice: number; text: string; logprobs: TokenLogprobInfo[] }
  | { type: 'finish'; id: string; choice: number; reason: 'stop' | 'length' }
  | {
      type: 'done';
      id: string;
      usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    }
  | { type: 'error'; id: string; status: number; message: string; param: string | null; code: string | null }
  /** A cancelled request's sequences have all left the batch (its slots are free). */
  | { type: 'cancelled'; id: string };
