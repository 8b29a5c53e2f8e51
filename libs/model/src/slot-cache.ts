import * as tf from '@tensorflow/tfjs-core';

import type { Attention, LayerKV } from './attention';
import type { ModelConfig } from './config';
import { fusedAttentionAvailable, slotAttention } from './kernels/attention';
import type { KVCache, StepLogits } from './kv-cache';
import type { TransformerModel } from './model';

/** The part of tfjs-backend-wasm's BackendWasm used to reach tensors' memory. */
interface HeapBackend {
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array;
}

function heap(t: tf.Tensor): Float32Array {
  return (tf.backend() as unknown as HeapBackend).typedArrayFromHeap(t);
}

/** A SlotCache's first capacity; both double when needed. */
const SLOT_ROWS = 4;
const SLOT_COLUMNS = 64;

/**
 * Bytes of keys and values a SlotCache reaches when it has held `rows` sequences at once, the longest `columns` tokens
 * long (capacities double from 4 rows and 64 columns and never shrink while the batch runs). For admission control.
 */
export function slotCacheBytes(config: ModelConfig, rows: number, columns: number): number {
  const grow = (need: number, start: number): number => {
    let capacity = start;
    while (capacity < need) capacity *= 2;
    return capacity;
  };
  const { num_hidden_layers: L, num_key_value_heads: Hkv, head_dim: D } = config;
  return grow(rows, SLOT_ROWS) * grow(columns, SLOT_COLUMNS) * L * 2 * Hkv * D * 4;
}

/**
 * Keys and values of a running batch in fixed slots, written in place (wasm backend only): per layer one buffer
 * [rows, Hkv, columns, D]; a sequence owns one slot (row) and its tokens sit in columns 0… of it, so column = position.
 * Decoding writes each sequence's new key and value straight into its next column (the slot-attention kernel) instead
 * of concatenating a new copy of the whole batch per layer; a sequence joins by copying its own prefill into a free
 * slot and leaves by freeing the slot, instead of copying the whole batch each time (KVCache.merge and select). At 16
 * rows of tt-micro those copies were ≈ 0.4 ms of every 5.6 ms decode step plus ≈ 1 ms per join and leave.
 *
 * Capacity doubles (rows or columns) when needed, by one copy of the used part, and never shrinks: a batch keeps its
 * peak size until it is disposed (the scheduler disposes a model's batch when it empties). The buffers are private:
 * the kernel mutates them, which is safe only because no other tensor shares them.
 */
export class SlotCache {
  layers: LayerKV[];
  private lengths: number[];
  private free: number[];

  constructor(
    private readonly model: TransformerModel,
    rows = SLOT_ROWS,
    columns = SLOT_COLUMNS,
  ) {
    if (!slotCacheAvailable(model))
      throw new Error('SlotCache needs the wasm backend and a head size that is a multiple of 4');
    this.layers = this.allocateBuffers(rows, columns);
    this.lengths = new Array<number>(rows).fill(0);
    this.free = Array.from({ length: rows }, (_, i) => rows - 1 - i); // pop() hands out slot 0 first
  }

  get rows(): number {
    return this.layers[0]?.k.shape[0] ?? 0;
  }

  get columns(): number {
    return this.layers[0]?.k.shape[2] ?? 0;
  }

  /** Tokens stored in a slot (its next position). */
  length(slot: number): number {
    return this.lengths[slot];
  }

  /** Takes a free slot (growing the rows when there is none). */
  allocate(): number {
    if (this.free.length === 0) {
      const rows = this.rows;
      this.resize(rows * 2, this.columns);
      for (let r = rows * 2 - 1; r >= rows; r--) this.free.push(r);
    }
    const slot = this.free.pop() as number;
    this.lengths[slot] = 0;
    return slot;
  }

  release(slot: number): void {
    if (slot < 0 || slot >= this.rows || this.free.includes(slot))
      throw new Error(`SlotCache: slot ${slot} is not in use`);
    this.lengths[slot] = 0;
    this.free.push(slot);
  }

  /** Makes room for `columns` tokens per slot (doubling). */
  reserve(columns: number): void {
    let capacity = this.columns;
    if (columns <= capacity) return;
    while (capacity < columns) capacity *= 2;
    this.resize(this.rows, capacity);
  }

  /**
   * Copies row `row` of a cache straight out of `prefillBatch` (its tokens in columns 0 … nextPosition − 1, padding
   * after them) into a new slot; returns the slot. The cache stays the caller's.
   */
  adopt(cache: KVCache, row: number): number {
    const n = cache.nextPosition[row];
    for (let j = 0; j < cache.width; j++) {
      if (Boolean(cache.valid[row * cache.width + j]) !== j < n)
        throw new Error(
          'SlotCache.adopt: the row is not a prefill (its tokens must fill columns 0 … length − 1)',
        );
    }
    return this.copyIn(cache.layers, row, n);
  }

  /**
   * Takes a free slot holding a cached prefix (columns 0 … length − 1 of its per-layer [1, Hkv, width, D] tensors, e.g.
   * a PrefixHit's entry); returns the slot. The prefix stays the caller's.
   */
  adoptPrefix(prefix: { layers: readonly LayerKV[]; length: number }): number {
    return this.copyIn(prefix.layers, 0, prefix.length);
  }

  /** A new slot holding columns 0 … n − 1 of row `row` of per-layer [rows, Hkv, width, D] tensors. */
  private copyIn(layers: readonly LayerKV[], row: number, n: number): number {
    this.reserve(n);
    const slot = this.allocate();
    layers.forEach((layer, l) => copyRow(layer, row, this.layers[l], slot, n));
    this.lengths[slot] = n;
    return slot;
  }

  /** Counts `count` more tokens in a slot (written by the pass that just ran). */
  advance(slot: number, count: number): void {
    this.lengths[slot] += count;
  }

  dispose(): void {
    for (const { k, v } of this.layers) tf.dispose([k, v]);
    this.layers = [];
    this.free = [];
  }

  private allocateBuffers(rows: number, columns: number): LayerKV[] {
    const { num_hidden_layers: L, num_key_value_heads: Hkv, head_dim: D } = this.model.config;
    return Array.from({ length: L }, () => ({
      k: tf.zeros([rows, Hkv, columns, D]) as tf.Tensor4D,
      v: tf.zeros([rows, Hkv, columns, D]) as tf.Tensor4D,
    }));
  }

  /** New buffers of the given capacity holding every slot's tokens. */
  private resize(rows: number, columns: number): void {
    const oldRows = this.rows;
    const layers = this.allocateBuffers(rows, columns);
    this.layers.forEach((old, l) => {
      for (let slot = 0; slot < oldRows; slot++)
        if (this.lengths[slot] > 0) copyRow(old, slot, layers[l], slot, this.lengths[slot]);
      tf.dispose([old.k, old.v]);
    });
    this.layers = layers;
    this.lengths = [...this.lengths, ...new Array<number>(rows - oldRows).fill(0)];
  }
}

/** Copies columns 0 … n − 1 of row `fromRow` of one layer's keys and values ([rows, Hkv, width, D]) into row `toRow` of another's. */
function copyRow(from: LayerKV, fromRow: number, to: LayerKV, toRow: number, n: number): void {
  const [, Hkv, fromWidth, D] = from.k.shape;
  const toWidth = to.k.shape[2];
  for (const part of ['k', 'v'] as const) {
    const src = heap(from[part]);
    const dst = heap(to[part]);
    for (let h = 0; h < Hkv; h++) {
      const at = (fromRow * Hkv + h) * fromWidth * D;
      dst.set(src.subarray(at, at + n * D), (toRow * Hkv + h) * toWidth * D);
    }
  }
}

/** Whether slot caches work here: the wasm backend (the kernel) and head vectors in whole f32x4 groups. */
export function slotCacheAvailable(model: TransformerModel): boolean {
  return fusedAttentionAvailable(model.config.head_dim);
}

/**
 * Attention over a SlotCache (wasm only): each row is one token of some slot; the slot kernel writes its key and value
 * into the slot's next column of the layer's buffers, in place, and attends causally within the slot.
 */
class SlotAttention implements Attention {
  constructor(
    /** Per layer [rows, Hkv, columns, D]. */
    private readonly buffers: readonly LayerKV[],
    /** [M] int32: the slot of each row. */
    private readonly slots: tf.Tensor1D,
    /** [M] int32: the column (= RoPE position) of each row's token. */
    private readonly columns: tf.Tensor1D,
  ) {}

  attend(layer: number, q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
    const [M, H, T, D] = q.shape;
    if (T !== 1) throw new Error('SlotAttention: a slot-cache pass takes one token per row');
    const Hkv = k.shape[1];
    const { k: kBuf, v: vBuf } = this.buffers[layer];
    const one = (t: tf.Tensor4D, h: number): tf.Tensor3D => tf.reshape(t, [M, h, D]); // [M, h, 1, D] → [M, h, D]
    const out = slotAttention(one(q, H), one(k, Hkv), one(v, Hkv), kBuf, vBuf, this.slots, this.columns);
    return tf.reshape(out, [M, H, 1, D]); // [M, H, D] → [M, H, 1, D]
  }
}

/** Tokens for one slot in a `forwardSlots` pass: they go to its next columns, in order. */
export interface SlotTokens {
  slot: number;
  tokens: readonly number[];
}

/**
 * One forward pass over a slot cache for any mix of decoding sequences (one token each) and prompts joining (their
 * tokens after whatever the slot already holds, e.g. a cached prefix): every token is a row of the same matmuls, its
 * key and value go into its slot at the next column, and it attends over its slot up to itself. Returns the logits
 * after the last token of each entry. Computing new prompts inside the decode step (vLLM's mixed batches) saves the
 * separate prefill pass's fixed cost: a pass of tt-micro is ≈ 290 kernel dispatches whatever its size.
 */
export function forwardSlots(
  model: TransformerModel,
  cache: SlotCache,
  entries: readonly SlotTokens[],
): StepLogits {
  if (entries.some((e) => e.tokens.length === 0))
    throw new Error('forwardSlots: every entry needs at least one token');
  const M = entries.reduce((sum, e) => sum + e.tokens.length, 0);
  if (M === 0) return [];
  const ids = new Int32Array(M);
  const slots = new Int32Array(M);
  const columns = new Int32Array(M);
  const last = new Int32Array(entries.length);
  let m = 0;
  entries.forEach((e, i) => {
    const start = cache.length(e.slot);
    e.tokens.forEach((token, t) => {
      ids[m] = token;
      slots[m] = e.slot;
      columns[m] = start + t;
      m += 1;
    });
    last[i] = m - 1;
  });
  cache.reserve(Math.max(...columns) + 1);
  const logits = tf.tidy(() => {
    const attention = new SlotAttention(
      cache.layers,
      tf.tensor1d(slots, 'int32'),
      tf.tensor1d(columns, 'int32'),
    );
    const input = { ids: tf.tensor1d(ids, 'int32'), batch: M, time: 1, positions: columns };
    const hidden = model.forward(input, attention); // [M, C]
    const rows =
      M === entries.length ? hidden : (tf.gather(hidden, tf.tensor1d(last, 'int32')) as tf.Tensor2D);
    return model.head(rows); // [entries, V]
  });
  const data = logits.dataSync() as Float32Array;
  logits.dispose();
  for (const e of entries) cache.advance(e.slot, e.tokens.length);
  const V = model.config.vocab_size;
  return entries.map((_, i) => data.slice(i * V, (i + 1) * V));
}

/** One decode step over a slot cache: token i goes to slot `slots[i]` at its next column; returns each row's logits. */
export function decodeSlots(
  model: TransformerModel,
  cache: SlotCache,
  slots: readonly number[],
  tokens: readonly number[],
): StepLogits {
  if (tokens.length !== slots.length)
    throw new Error(`decodeSlots: ${tokens.length} tokens for ${slots.length} slots`);
  return forwardSlots(
    model,
    cache,
    slots.map((slot, i) => ({ slot, tokens: [tokens[i]] })),
  );
}
