import {
  decodeStep,
  forwardSlots,
  KVCache,
  prefillBatch,
  SlotCache,
  slotCacheAvailable,
  type CachedPrefix,
  type SlotTokens,
  type StepLogits,
  type TransformerModel,
} from '@tracetune/model';

import { disposePrefix, type PrefixCache, type PrefixHit } from './prefix-cache';

/**
 * The running batch of one model in a continuous-batching server. Each step feeds one token to every running row and
 * computes the prompts that join (after their longest cached prefix, when a PrefixCache is given; every prompt is
 * remembered in it); the joined rows run from the next step on. Rows are numbered running first, then joined, in
 * order; `keep` renumbers them.
 */
export interface DecodeBatch {
  readonly size: number;
  /** Returns the next-token logits of the running rows (in order), then of the joined prompts (in order). */
  step(tokens: readonly number[], prompts?: readonly (readonly number[])[]): StepLogits;
  /** Keeps the given rows, in the given order (none: the batch empties but stays usable). */
  keep(rows: readonly number[]): void;
  dispose(): void;
}

/**
 * Slots (wasm): one forward pass per step for the running rows and the joining prompts together, keys and values
 * written in place; a leave copies nothing. See SlotCache and forwardSlots.
 */
class SlotBatch implements DecodeBatch {
  private readonly cache: SlotCache;
  private slots: number[] = [];

  constructor(
    private readonly model: TransformerModel,
    private readonly prefixes: PrefixCache | null,
  ) {
    this.cache = new SlotCache(model);
  }

  get size(): number {
    return this.slots.length;
  }

  step(tokens: readonly number[], prompts: readonly (readonly number[])[] = []): StepLogits {
    if (tokens.length !== this.slots.length)
      throw new Error(`DecodeBatch.step: ${tokens.length} tokens for ${this.slots.length} rows`);
    const entries: SlotTokens[] = this.slots.map((slot, i) => ({ slot, tokens: [tokens[i]] }));
    const joined: number[] = [];
    try {
      for (const prompt of prompts) {
        const hit = this.prefixes?.lookup(prompt) ?? null;
        // Copied straight from the cache entry (no intermediate `take()`); inserts come only after the pass.
        const slot = hit ? this.cache.adoptPrefix(hit) : this.cache.allocate();
        joined.push(slot);
        entries.push({ slot, tokens: prompt.slice(hit?.length ?? 0) });
      }
      const logits = forwardSlots(this.model, this.cache, entries);
      prompts.forEach((prompt, i) => this.prefixes?.insert(prompt, this.cache, joined[i]));
      this.slots.push(...joined);
      return logits;
    } catch (error) {
      joined.forEach((slot) => this.cache.release(slot));
      throw error;
    }
  }

  keep(rows: readonly number[]): void {
    const kept = new Set(rows);
    this.slots.forEach((slot, i) => kept.has(i) || this.cache.release(slot));
    this.slots = rows.map((i) => this.slots[i]);
  }

  dispose(): void {
    this.cache.dispose();
    this.slots = [];
  }
}

/**
 * One KVCache (any backend): the running rows decode with `decodeStep`; joining prompts are prefilled in groups that
 * share a cached prefix and have tails within a factor of two in length (one right-padded `prefillBatch` each, which
 * bounds the compute spent on padding), then merged in.
 */
class TensorBatch implements DecodeBatch {
  private cache: KVCache | null = null;

  constructor(
    private readonly model: TransformerModel,
    private readonly prefixes: PrefixCache | null,
  ) {}

  get size(): number {
    return this.cache?.size ?? 0;
  }

  step(tokens: readonly number[], prompts: readonly (readonly number[])[] = []): StepLogits {
    if (tokens.length !== this.size)
      throw new Error(`DecodeBatch.step: ${tokens.length} tokens for ${this.size} rows`);
    const running = this.cache && tokens.length ? decodeStep(this.model, this.cache, tokens) : [];
    if (prompts.length === 0) return running;
    const { caches, order, logits } = this.prefill(prompts);
    // Rows join in group order; put them back in prompt order.
    let joined = KVCache.merge(caches);
    if (order.some((p, row) => p !== row)) joined = joined.select(prompts.map((_, p) => order.indexOf(p)));
    this.cache = this.cache ? KVCache.merge([this.cache, joined]) : joined;
    return [...running, ...logits];
  }

  keep(rows: readonly number[]): void {
    if (!this.cache) return;
    if (rows.length === 0) {
      this.cache.dispose();
      this.cache = null;
    } else this.cache = this.cache.select(rows);
  }

  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
  }

  /** Prefills the prompts in groups; `order[row]` is the prompt of each row of the concatenated caches. */
  private prefill(prompts: readonly (readonly number[])[]): {
    caches: KVCache[];
    order: number[];
    logits: StepLogits;
  } {
    const groups = new Map<string, { members: number[]; hit: PrefixHit | null }>();
    prompts.forEach((prompt, p) => {
      const hit = this.prefixes?.lookup(prompt) ?? null;
      const key = `${hit?.key ?? '-'}\u0000${Math.ceil(Math.log2(prompt.length - (hit?.length ?? 0)))}`;
      const group = groups.get(key) ?? { members: [], hit };
      group.members.push(p);
      groups.set(key, group);
    });
    // Every prefix is copied out before any insert below can evict its entry.
    const taken = [...groups.values()].map((g): CachedPrefix | undefined => g.hit?.take());
    const caches: KVCache[] = [];
    const order: number[] = [];
    const logits: StepLogits = new Array(prompts.length);
    try {
      [...groups.values()].forEach(({ members, hit }, g) => {
        const skip = hit?.length ?? 0;
        const out = prefillBatch(
          this.model,
          members.map((p) => prompts[p].slice(skip)),
          taken[g],
        );
        members.forEach((p, i) => {
          this.prefixes?.insert(prompts[p], out.cache, i);
          logits[p] = out.logits[i];
        });
        caches.push(out.cache);
        order.push(...members);
      });
    } catch (error) {
      caches.forEach((c) => c.dispose());
      throw error;
    } finally {
      taken.forEach((prefix) => prefix && disposePrefix(prefix));
    }
    return { caches, order, logits };
  }
}

/** The best batch for this model on the active backend: slots on wasm, one KVCache elsewhere. */
export function createDecodeBatch(
  model: TransformerModel,
  prefixes: PrefixCache | null = null,
  kind: 'auto' | 'slots' | 'tensor' = 'auto',
): DecodeBatch {
  const slots = kind === 'slots' || (kind === 'auto' && slotCacheAvailable(model));
  return slots ? new SlotBatch(model, prefixes) : new TensorBatch(model, prefixes);
}
