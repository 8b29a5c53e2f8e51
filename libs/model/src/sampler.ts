import type { Tokenizer } from '@tracetune/tokenizer';

import { contextLength } from './config';
import { decodeStep, KVCache, prefillBatch, uncachedLogits } from './kv-cache';
import type { TransformerModel } from './model';
import { Rng } from './rng';

/**
 * Called with each sequence's next-token logits before sampling; may change them in place (e.g. set −Infinity on
 * tokens a JSON grammar forbids). `generated` holds the tokens sampled so far for that sequence.
 */
export type LogitsProcessor = (sequence: number, logits: Float32Array, generated: readonly number[]) => void;

export interface SamplingParams {
  /** 0 = greedy (argmax). Default 1. */
  temperature?: number;
  /** Nucleus sampling mass (1 = off). */
  topP?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
}

export interface GenerateOptions extends SamplingParams {
  maxNewTokens: number;
  /** Generation stops after any of these ids (default: the tokenizer's stop ids when a tokenizer is given). */
  stopTokenIds?: readonly number[];
  /** Generation stops when the generated tokens end with one of these id sequences. */
  stopSequences?: readonly (readonly number[])[];
  /** Generation stops when the decoded text contains one of these (needs `tokenizer`). */
  stopStrings?: readonly string[];
  tokenizer?: Tokenizer;
  /**
   * Temperature of the distribution `logProbs` are reported under (default 1: the raw model, as OpenAI's `logprobs`).
   * RL passes its sampling temperature, so that old-policy log-probs are those of the distribution sampled from.
   */
  logprobTemperature?: number;
  /** Seed of the host PRNG; the same seed, model and prompts give the same tokens. Default 0. */
  seed?: number;
  /**
   * One seed per prompt (overrides `seed`): each sequence draws from `new Rng(seeds[i])`, so a sequence's tokens do
   * not depend on which other prompts share the call (the trainer seeds by group and spreads groups over threads).
   */
  seeds?: readonly number[];
  /** Number of most likely alternatives to report per position (OpenAI `top_logprobs`, ≤ 20). */
  topLogprobs?: number;
  logitsProcessor?: LogitsProcessor;
  /** Use the KV cache (default). `false` recomputes every prefix: the slow reference path. */
  useCache?: boolean;
}

export interface TokenLogprob {
  id: number;
  logprob: number;
}

export interface Completion {
  /** Generated ids, including the stop id / stop sequence that ended generation (RL trains on them). */
  tokens: number[];
  /** log p(token) under softmax(logits / `logprobTemperature`) (default 1: the raw model), before the logits
   * processor, top-k and top-p: what OpenAI `logprobs` reports (at 1) and RL's old-policy log-probs (at its
   * sampling temperature). */
  logProbs: number[];
  /** Per position, the `topLogprobs` most likely tokens under the same raw distribution. */
  topLogprobs?: TokenLogprob[][];
  finishReason: 'stop' | 'length';
  /** Decoded text without special tokens, cut before the stop string that matched (only with a tokenizer). */
  text?: string;
}

/** log-softmax of logits / temperature (default 1), in float64 for the reduction. */
export function logSoftmax(logits: Float32Array, temperature = 1): Float64Array {
  const scale = 1 / temperature;
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] * scale > max) max = logits[i] * scale;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] * scale - max);
  const lse = max + Math.log(sum);
  const out = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i] * scale - lse;
  return out;
}

/** The n largest entries of `values` as (id, value), largest first (n is small: a sorted insert is enough). */
export function topN(values: ArrayLike<number>, n: number): TokenLogprob[] {
  const best: TokenLogprob[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (best.length === n && v <= best[n - 1].logprob) continue;
    let j = best.length < n ? best.length : n - 1;
    if (best.length < n) best.push({ id: i, logprob: v });
    while (j > 0 && best[j - 1].logprob < v) {
      best[j] = best[j - 1];
      j--;
    }
    best[j] = { id: i, logprob: v };
  }
  return best;
}

/**
 * Indices of the nucleus (Holtzman et al. 2019): the most probable entries whose mass first reaches `topP` of the
 * total, most probable first. `weights` are unnormalised probabilities. Only entries above a threshold t are sorted:
 * if the entries ≥ t already hold `topP` of the mass, the nucleus lies among them (it is filled in decreasing order and
 * stops once the mass is reached), so the result is exact while a 150k-token vocabulary sorts a few hundred entries.
 */
export function nucleus(weights: readonly number[], topP: number): number[] {
  let total = 0;
  let max = 0;
  for (const w of weights) {
    total += w;
    if (w > max) max = w;
  }
  let threshold = max * 1e-4;
  let pool: number[] = [];
  for (;;) {
    pool = [];
    let mass = 0;
    for (let j = 0; j < weights.length; j++) {
      if (weights[j] >= threshold) {
        pool.push(j);
        mass += weights[j];
      }
    }
    if (mass >= topP * total || threshold === 0) break;
    threshold = threshold < 1e-30 ? 0 : threshold / 100;
  }
  pool.sort((a, b) => weights[b] - weights[a]);
  const kept: number[] = [];
  let mass = 0;
  for (const j of pool) {
    kept.push(j);
    mass += weights[j];
    if (mass >= topP * total) break;
  }
  return kept;
}

/**
 * Picks the next token from (already processed) logits: greedy at temperature 0, else softmax(logits/τ) restricted
 * to the top-k tokens and then to the smallest set whose mass reaches top-p (Holtzman et al. 2019), sampled with
 * one uniform draw from `rng`.
 */
export function sampleToken(logits: Float32Array, params: SamplingParams, rng: Rng): number {
  const temperature = params.temperature ?? 1;
  if (temperature === 0) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    return best;
  }
  const topK = params.topK ?? 0;
  const topP = params.topP ?? 1;
  let candidates: number[];
  if (topK > 0 && topK < logits.length) candidates = topN(logits, topK).map((t) => t.id);
  else {
    candidates = [];
    for (let i = 0; i < logits.length; i++) if (logits[i] > -Infinity) candidates.push(i);
  }
  if (candidates.length === 0)
    throw new Error('Every token is masked: the logits processor left nothing to sample');
  let max = -Infinity;
  for (const i of candidates) if (logits[i] > max) max = logits[i];
  let probs = candidates.map((i) => Math.exp((logits[i] - max) / temperature));
  if (topP < 1) {
    const kept = nucleus(probs, topP);
    candidates = kept.map((j) => candidates[j]);
    probs = kept.map((j) => probs[j]);
  }
  const total = probs.reduce((s, p) => s + p, 0);
  let u = rng.next() * total;
  for (let j = 0; j < candidates.length; j++) {
    u -= probs[j];
    if (u < 0) return candidates[j];
  }
  return candidates[candidates.length - 1];
}

/** Decides when a sequence is done: stop ids, stop id sequences, stop strings (decoded through the tokenizer). */
export class StopChecker {
  private readonly stopIds: Set<number>;
  private readonly tailTokens: number;

  constructor(private readonly options: GenerateOptions) {
    this.stopIds = new Set(options.stopTokenIds ?? options.tokenizer?.stopTokenIds ?? []);
    if (options.stopStrings?.length && !options.tokenizer) throw new Error('stopStrings need a tokenizer');
    // A token is at least one byte and a character at most 4 bytes, so a stop string of L characters spans at most
    // 4L tokens; decode a little more than that at the tail instead of the whole text every step.
    const longest = Math.max(0, ...(options.stopStrings ?? []).map((s) => s.length));
    this.tailTokens = 4 * longest + 8;
  }

  /** True when `generated` (ending with the token just sampled) must stop. */
  shouldStop(generated: readonly number[]): boolean {
    const last = generated[generated.length - 1];
    if (this.stopIds.has(last)) return true;
    for (const seq of this.options.stopSequences ?? []) {
      if (
        seq.length &&
        seq.length <= generated.length &&
        seq.every((id, i) => generated[generated.length - seq.length + i] === id)
      ) {
        return true;
      }
    }
    const strings = this.options.stopStrings;
    if (strings?.length && this.options.tokenizer) {
      const tail = this.options.tokenizer.decode(generated.slice(-this.tailTokens), {
        skipSpecialTokens: true,
      });
      if (strings.some((s) => tail.includes(s))) return true;
    }
    return false;
  }

  /** The text of a finished completion: special tokens skipped, cut before the first stop string. */
  text(tokens: readonly number[]): string | undefined {
    const tok = this.options.tokenizer;
    if (!tok) return undefined;
    let text = tok.decode(tokens, { skipSpecialTokens: true });
    for (const s of this.options.stopStrings ?? []) {
      const at = text.indexOf(s);
      if (at >= 0) text = text.slice(0, at);
    }
    return text;
  }
}

interface ActiveSequence {
  index: number;
  prompt: readonly number[];
  rng: Rng;
  completion: Completion;
}

/**
 * Batched generation. With the cache (default), each prompt is prefilled into its own cache (batch-1 matmuls are the
 * fast path on wasm), the caches are merged, and all unfinished rows decode together; finished rows leave the batch.
 * Each sequence draws from its own PRNG (forked from the seed per prompt index), so its tokens depend on the seed and its
 * index only — not on the other prompts or on when they finish — and the uncached path gives the same tokens.
 */
export function generate(
  model: TransformerModel,
  prompts: readonly (readonly number[])[],
  options: GenerateOptions,
): Completion[] {
  if (!(options.maxNewTokens >= 0)) throw new Error('maxNewTokens must be ≥ 0');
  const maxLen = contextLength(model.config);
  const stop = new StopChecker(options);
  const seedRng = new Rng(options.seed ?? 0);
  const seqs: ActiveSequence[] = prompts.map((prompt, index) => {
    if (prompt.length === 0) throw new Error(`Prompt ${index} is empty`);
    const own = options.seeds?.[index];
    return {
      index,
      prompt,
      rng: own === undefined ? seedRng.fork() : new Rng(own),
      completion: {
        tokens: [],
        logProbs: [],
        finishReason: 'length',
        ...(options.topLogprobs ? { topLogprobs: [] } : {}),
      },
    };
  });

  // Returns true when the sequence continues.
  const consume = (s: ActiveSequence, logits: Float32Array): boolean => {
    const c = s.completion;
    const logp = logSoftmax(logits, options.logprobTemperature ?? 1);
    if (options.logitsProcessor) options.logitsProcessor(s.index, logits, c.tokens);
    const token = sampleToken(logits, options, s.rng);
    c.tokens.push(token);
    c.logProbs.push(logp[token]);
    if (c.topLogprobs) c.topLogprobs.push(topN(logp, options.topLogprobs ?? 0));
    if (stop.shouldStop(c.tokens)) {
      c.finishReason = 'stop';
      return false;
    }
    return c.tokens.length < options.maxNewTokens && s.prompt.length + c.tokens.length < maxLen;
  };

  if (options.maxNewTokens > 0) {
    if (options.useCache === false) {
      let active = seqs;
      while (active.length) {
        active = active.filter((s) =>
          consume(s, uncachedLogits(model, [...s.prompt, ...s.completion.tokens])),
        );
      }
    } else {
      // Prefill each distinct prompt once (GRPO samples G completions of the same prompt), batching prompts of equal
      // length, then replicate cache rows so that every sequence has its own row.
      const unique = new Map<string, number>();
      const uniquePrompts: (readonly number[])[] = [];
      const rowOf = seqs.map((s) => {
        const key = s.prompt.join(',');
        let row = unique.get(key);
        if (row === undefined) {
          row = uniquePrompts.push(s.prompt) - 1;
          unique.set(key, row);
        }
        return row;
      });
      const byLength = new Map<number, number[]>();
      uniquePrompts.forEach((p, i) => byLength.set(p.length, [...(byLength.get(p.length) ?? []), i]));
      const groupCaches: KVCache[] = [];
      const order: number[] = []; // unique-prompt index of each row of the merged cache
      const firstLogits: Float32Array[] = [];
      for (const members of byLength.values()) {
        const { cache, logits } = prefillBatch(
          model,
          members.map((i) => uniquePrompts[i]),
        );
        groupCaches.push(cache);
        members.forEach((i, j) => {
          order.push(i);
          firstLogits[i] = logits[j];
        });
      }
      const mergedRow = new Map(order.map((u, r) => [u, r]));
      let active: ActiveSequence[] = [];
      const keepRows: number[] = [];
      seqs.forEach((s, i) => {
        // Copy: the logits processor may edit them, and duplicates of a prompt share the array.
        if (consume(s, new Float32Array(firstLogits[rowOf[i]]))) {
          active.push(s);
          keepRows.push(mergedRow.get(rowOf[i]) as number);
        }
      });
      const merged = KVCache.merge(groupCaches);
      let cache: KVCache | null = null;
      if (keepRows.length) cache = merged.select(keepRows);
      else merged.dispose();
      while (cache && active.length) {
        const rows = decodeStep(
          model,
          cache,
          active.map((s) => s.completion.tokens[s.completion.tokens.length - 1]),
        );
        const keep: number[] = [];
        active.forEach((s, i) => consume(s, rows[i]) && keep.push(i));
        if (keep.length === 0) {
          cache.dispose();
          cache = null;
        } else if (keep.length < active.length) cache = cache.select(keep);
        active = keep.map((i) => active[i]);
      }
    }
  }
  for (const s of seqs) {
    const text = stop.text(s.completion.tokens);
    if (text !== undefined) s.completion.text = text;
  }
  return seqs.map((s) => s.completion);
}
