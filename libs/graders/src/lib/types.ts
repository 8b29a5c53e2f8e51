import type { GraderRunResponse } from 'openai/resources/fine-tuning/alpha/graders';
import type {
  LabelModelGrader,
  PythonGrader,
  ScoreModelGrader,
  StringCheckGrader,
  TextSimilarityGrader,
} from 'openai/resources/graders/grader-models';

/** OpenAI's run-response `metadata.errors`, flag for flag (the SDK type is the contract). */
export type GraderErrorFlags = GraderRunResponse.Metadata.Errors;

/**
 * What a grader sees of the model's answer: OpenAI's `sample` namespace for graders.
 * `output_json` is set when `output_text` parses as JSON.
 */
export interface GraderSample {
  output_text: string;
  output_json?: unknown;
  output_tools?: unknown[];
  choices?: unknown[];
}

/** A dataset row minus its `messages`: OpenAI's `item` namespace. */
export type GraderItem = Record<string, unknown>;

/** Judge tokens spent by one grade, per judge model (OpenAI's `model_grader_token_usage_per_model` values). */
export interface JudgeTokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cached_tokens: number;
}

export interface GradeResult {
  /** The reward. Always a finite number; 0 when `errors` has a flag set. */
  score: number;
  /** Named sub-scores (a `multi` grader's sub-graders; `{ [name]: score }` for the others). */
  subScores: Record<string, number>;
  errors: GraderErrorFlags;
  /** Human-readable reasons for the flags set in `errors` (for logs and the run endpoint). */
  errorDetails: string[];
  /** `score >= pass_threshold` when the grader has one. */
  passed?: boolean;
  /** Wall time of the grade, milliseconds. */
  executionTimeMs: number;
  /** Judge token usage per model; empty for graders that call no model. */
  tokenUsage: Record<string, JudgeTokenUsage>;
  /** The judge model that was sampled, if any. */
  sampledModelName: string | null;
}

/** Per-call options of `Grader.grade`. */
export interface GradeOptions {
  /** Aborting kills a running code grader and makes `grade` reject with `GradingAbortedError`. */
  signal?: AbortSignal;
  /** Who the call is for (code graders keep Python threads per tenant). */
  tenant?: string;
}

/**
 * A built grader. `grade` never throws: failures become score 0 plus a flag in `errors`; only the caller's own
 * abort (`options.signal`) rejects, with `GradingAbortedError`.
 */
export interface Grader {
  readonly name: string;
  readonly type: string;
  grade(sample: GraderSample, item: GraderItem, options?: GradeOptions): Promise<GradeResult>;
  /** Starts what grading needs ahead of the first sample (code-grader threads); never rejects. */
  warm(): Promise<void>;
  /** Frees sandboxes and other resources; the grader must not be used afterwards. */
  dispose(): void;
}

/** Our extension: compare the final answer of a math solution with a reference. */
export interface MathAnswerGraderConfig {
  type: 'math_answer';
  name: string;
  /** Template of the text to extract the answer from; default `{{sample.output_text}}`. */
  input?: string;
  /** Template of the reference answer, e.g. `{{item.answer}}`. */
  reference: string;
  /** Relative tolerance for numeric equality; default 1e-6. */
  tolerance?: number;
  pass_threshold?: number;
}

/** Our extension: `function grade(sample, item) { … }` run in a QuickJS sandbox. */
export interface JavaScriptGraderConfig {
  type: 'javascript';
  name: string;
  source: string;
  /** CPU-time limit per call, ms; default from the sandbox options. */
  timeout_ms?: number;
  pass_threshold?: number;
}

export type TextSimilarityGraderConfig = TextSimilarityGrader & { pass_threshold?: number };
export type StringCheckGraderConfig = Omit<StringCheckGrader, 'operation'> & {
  operation: StringCheckGrader['operation'] | 'neq';
};

/** The sub-graders a `multi` grader may hold. */
export type LeafGraderConfig =
  | StringCheckGraderConfig
  | TextSimilarityGraderConfig
  | ScoreModelGrader
  | LabelModelGrader
  | PythonGrader
  | MathAnswerGraderConfig
  | JavaScriptGraderConfig;

/**
 * `graders` is a map of name → grader in OpenAI's API reference; the SDK's type declares a single grader,
 * which we accept too (its variable name in the formula is then its `name`).
 */
export interface MultiGraderConfig {
  type: 'multi';
  name: string;
  calculate_output: string;
  graders: Record<string, LeafGraderConfig> | LeafGraderConfig;
  pass_threshold?: number;
}

export type GraderConfig = LeafGraderConfig | MultiGraderConfig;
