import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

import {
  validateFineTuneLine,
  type ChatMessage,
  type FineTuningMethodType,
  type ParsedLine,
} from '@tracetune/contracts';
import { Rng } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import { TrainingError } from './contract';
import { streamSeed } from './seeds';

/** One RL prompt: its chat messages, the rendered prompt tokens and the grader's `item`. */
export interface RlExample {
  messages: ChatMessage[];
  promptText: string;
  promptTokens: number[];
  item: Record<string, unknown>;
}

/** One SFT example: the whole conversation's tokens and which next-token targets carry loss. */
export interface SftExample {
  /** Input tokens (all but the last), length L. */
  input: number[];
  /** Next-token targets, length L. */
  target: number[];
  /** 1 where target[t] belongs to a trained assistant message. */
  lossMask: number[];
}

/** One JSONL line parsed and checked for `method`; `where` names it in errors (`training_file line 3`). */
function parseLine(
  raw: string,
  where: string,
  method: FineTuningMethodType,
  param: string,
  line: number,
): ParsedLine {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new TrainingError(
      'invalid_training_data',
      `${where}: invalid JSON (${(e as Error).message})`,
      param,
    );
  }
  const result = validateFineTuneLine(value);
  if (!result.ok)
    throw new TrainingError('invalid_training_data', `${where}: ${result.error.message}`, param);
  const fits =
    method === 'reinforcement' ? result.line.rft : method === 'dpo' ? result.line.dpo : result.line.sft;
  if (!fits) {
    const need =
      method === 'reinforcement'
        ? 'a prompt (reinforcement data must not end with an assistant message)'
        : method === 'dpo'
          ? 'a preference pair (input, preferred_output, non_preferred_output)'
          : 'a chat example with an assistant message and no extra keys';
    throw new TrainingError('invalid_training_data', `${where}: ${method} fine-tuning needs ${need}`, param);
  }
  return { ...result.line, line };
}

/** JSONL text already in memory (evaluation of generated sets), checked as {@link readJsonl} checks a file. */
export function parseJsonl(text: string, method: FineTuningMethodType, param: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() !== '') out.push(parseLine(raw, `${param} line ${index + 1}`, method, param, index + 1));
  });
  if (out.length === 0) throw new TrainingError('invalid_training_data', `${param} has no examples`, param);
  return out;
}

/**
 * Reads a JSONL file line by line (a stream: the file is never held as one string) and keeps the lines usable for
 * `method`. Bad lines are TrainingError('invalid_training_data') with their 1-based number, as the upload validator
 * reports them; `param` (`training_file`, `validation_file`) names the file.
 */
export async function readJsonl(
  path: string,
  method: FineTuningMethodType,
  param: string,
): Promise<ParsedLine[]> {
  const out: ParsedLine[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let number = 0;
  try {
    for await (const raw of lines) {
      number++;
      if (raw.trim() !== '') out.push(parseLine(raw, `${param} line ${number}`, method, param, number));
    }
  } catch (e) {
    if (e instanceof TrainingError) throw e;
    throw new TrainingError(
      'invalid_training_data',
      `${param}: cannot read ${path}: ${(e as Error).message}`,
      param,
    );
  } finally {
    lines.close();
    input.destroy();
  }
  if (out.length === 0) throw new TrainingError('invalid_training_data', `${param} has no examples`, param);
  return out;
}

function renderMessages(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  addGenerationPrompt: boolean,
  tools?: readonly unknown[],
): string {
  // Drop the trainer-only `weight` key: templates do not expect it.
  return tokenizer.applyChatTemplate(
    messages.map(({ weight: _weight, ...m }) => m),
    { addGenerationPrompt, ...(tools ? { variables: { tools } } : {}) },
  );
}

/**
 * Tool calls are trained on as the chat template renders them; a template that renders a conversation the same with
 * and without its tool calls would train on empty assistant turns, so such data is refused (`where` names the line).
 */
export function checkToolSupport(
  tokenizer: Tokenizer,
  messages: readonly ChatMessage[],
  tools: readonly unknown[] | undefined,
  where: string,
): void {
  if (!messages.some((m) => m.tool_calls)) return;
  const plain = messages.map(({ tool_calls: _calls, ...m }) => m);
  if (renderMessages(tokenizer, messages, false, tools) !== renderMessages(tokenizer, plain, false, tools))
    return;
  throw new TrainingError(
    'invalid_training_data',
    `${where}: the model's chat template does not render tool_calls, so they cannot be trained on`,
    where.split(' ')[0],
  );
}

export function toRlExamples(lines: readonly ParsedLine[], tokenizer: Tokenizer): RlExample[] {
  return lines.map((line) => {
    const promptText = renderMessages(tokenizer, line.messages, true, line.tools);
    return {
      messages: line.messages,
      promptText,
      promptTokens: tokenizer.encode(promptText, { addSpecialTokens: false }),
      item: line.item,
    };
  });
}

/**
 * Tokenises a conversation so that only assistant messages (weight ≠ 0) carry loss: the tokens a message adds to
 * the rendered conversation, after the generation prompt that introduces it (so the model learns the content and
 * the end-of-turn token, never the role header).
 */
export function toSftExample(
  messages: readonly ChatMessage[],
  tokenizer: Tokenizer,
  maxTokens: number,
  tools?: readonly unknown[],
): SftExample {
  const tokens: number[] = [];
  const trained: number[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    const before = tokenizer.encode(
      renderMessages(tokenizer, messages.slice(0, i), m.role === 'assistant', tools),
      { addSpecialTokens: false },
    );
    const after = tokenizer.encode(renderMessages(tokenizer, messages.slice(0, i + 1), false, tools), {
      addSpecialTokens: false,
    });
    // Templates are prefix-stable for ChatML-like formats; where they are not, the common prefix is the boundary.
    let common = 0;
    while (common < tokens.length && common < before.length && tokens[common] === before[common]) common++;
    tokens.length = common;
    trained.length = common;
    for (let t = common; t < before.length; t++) {
      tokens.push(before[t]);
      trained.push(0);
    }
    let start = 0;
    while (start < tokens.length && start < after.length && tokens[start] === after[start]) start++;
    tokens.length = start;
    trained.length = start;
    const learn = m.role === 'assistant' && m.weight !== 0 ? 1 : 0;
    for (let t = start; t < after.length; t++) {
      tokens.push(after[t]);
      trained.push(learn);
    }
  }
  const kept = tokens.slice(0, maxTokens);
  return { input: kept.slice(0, -1), target: kept.slice(1), lossMask: trained.slice(1, kept.length) };
}

/**
 * The endless stream of example indices: epoch e visits every example once in an order shuffled from (seed, e).
 * The data cursor of a checkpoint is a position in this stream.
 */
export class DataStream {
  private readonly orders = new Map<number, number[]>();

  constructor(
    readonly size: number,
    private readonly seed: number,
  ) {}

  at(position: number): number {
    const epoch = Math.floor(position / this.size);
    return this.order(epoch)[position % this.size];
  }

  take(position: number, count: number): number[] {
    return Array.from({ length: count }, (_, i) => this.at(position + i));
  }

  private order(epoch: number): number[] {
    let order = this.orders.get(epoch);
    if (!order) {
      const rng = new Rng(streamSeed(this.seed, epoch, 'dataOrder'));
      order = Array.from({ length: this.size }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
      this.orders.clear(); // one epoch at a time is enough
      this.orders.set(epoch, order);
    }
    return order;
  }
}
