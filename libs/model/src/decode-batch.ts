import { decodeStep, KVCache, type StepLogits } from './kv-cache';
import type { TransformerModel } from './model';
import { decodeSlots, SlotCache, slotCacheAvailable } from './slot-cache';

/**
 * The running batch of one model in a continuous-batching server: sequences join from a prefill, decode one token
 * each per step, and leave. Rows are numbered in join order; `keep` renumbers them.
 */
export interface DecodeBatch {
  readonly size: number;
  /** Adds the given rows of a cache straight out of `prefillBatch` at the end of the batch. Consumes the cache. */
  join(cache: KVCache, rows: readonly number[]): void;
  /** Feeds one token to every row (in row order); returns each row's next-token logits. */
  step(tokens: readonly number[]): StepLogits;
  /** Keeps the given rows, in the given order. */
  keep(rows: readonly number[]): void;
  dispose(): void;
}

/** A batch in a SlotCache (wasm): joins copy only the new rows, leaves copy nothing, steps write in place. */
class SlotBatch implements DecodeBatch {
  private readonly cache: SlotCache;
  private slots: number[] = [];

  constructor(private readonly model: TransformerModel) {
    this.cache = new SlotCache(model);
  }

  get size(): number {
    return this.slots.length;
  }

  join(cache: KVCache, rows: readonly number[]): void {
    try {
      for (const row of rows) this.slots.push(this.cache.adopt(cache, row));
    } finally {
      cache.dispose();
    }
  }

  step(tokens: readonly number[]): StepLogits {
    return decodeSlots(this.model, this.cache, this.slots, tokens);
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

/** A batch in one KVCache (any backend): joins merge, leaves select, steps concatenate. */
class TensorBatch implements DecodeBatch {
  private cache: KVCache | null = null;

  constructor(private readonly model: TransformerModel) {}

  get size(): number {
    return this.cache?.size ?? 0;
  }

  join(cache: KVCache, rows: readonly number[]): void {
    const part = rows.length === cache.size && rows.every((r, i) => r === i) ? cache : cache.select(rows);
    this.cache = this.cache ? KVCache.merge([this.cache, part]) : part;
  }

  step(tokens: readonly number[]): StepLogits {
    if (!this.cache) throw new Error('DecodeBatch.step on an empty batch');
    return decodeStep(this.model, this.cache, tokens);
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
}

/** The best batch for this model on the active backend: slots on wasm, one KVCache elsewhere. */
export function createDecodeBatch(model: TransformerModel, kind: 'auto' | 'slots' | 'tensor' = 'auto'): DecodeBatch {
  const slots = kind === 'slots' || (kind === 'auto' && slotCacheAvailable(model));
  return slots ? new SlotBatch(model) : new TensorBatch(model);
}
