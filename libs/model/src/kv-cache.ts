import * as tf from '@tensorflow/tfjs-core';

import type { LayerKV, TransformerModel } from './model';

/**
 * Keys/values of a batch of N sequences, per layer [N, Hkv, P, D], right-aligned into P columns. Sequences can have
 * different lengths: `valid` [N, P] marks the columns that hold a real token of that row, and `nextPosition[i]` is the
 * RoPE position of row i's next token (its own length). This lets a server batch sequences that started at different
 * times (continuous batching): prefill each request into its own cache, `KVCache.merge` them into the running batch,
 * `decodeStep` all rows at once, and `select` the rows that continue when some finish.
 *
 * Ownership: `merge` and `select` consume their inputs (they are disposed) and return a new cache; `decodeStep`
 * replaces the tensors of the cache it is given.
 */
export class KVCache {
  constructor(
    public layers: LayerKV[],
    public valid: Uint8Array,
    public width: number,
    public nextPosition: number[],
  ) {}

  get size(): number {
    return this.nextPosition.length;
  }

  /** Joins caches row-wise (in order), padding each on the right to the widest. Consumes the inputs. */
  static merge(caches: readonly KVCache[]): KVCache {
    if (caches.length === 0) throw new Error('KVCache.merge needs at least one cache');
    if (caches.length === 1) return caches[0];
    const width = Math.max(...caches.map((c) => c.width));
    const layerCount = caches[0].layers.length;
    const layers = tf.tidy(() => {
      const out: LayerKV[] = [];
      for (let l = 0; l < layerCount; l++) {
        const pad = (t: tf.Tensor4D, w: number): tf.Tensor4D =>
          w === width ? t : tf.pad(t, [[0, 0], [0, 0], [0, width - w], [0, 0]]);
        out.push({
          k: tf.concat(caches.map((c) => pad(c.layers[l].k, c.width)), 0),
          v: tf.concat(caches.map((c) => pad(c.layers[l].v, c.width)), 0),
        });
      }
      return out;
    });
    const n = caches.reduce((s, c) => s + c.size, 0);
    const valid = new Uint8Array(n * width);
    let row = 0;
    for (const c of caches) {
      for (let i = 0; i < c.size; i++, row++) valid.set(c.valid.subarray(i * c.width, (i + 1) * c.width), row * width);
    }
    const positions = caches.flatMap((c) => c.nextPosition);
    caches.forEach((c) => c.dispose());
    return new KVCache(layers, valid, width, positions);
  }

  /** Keeps the given rows (in the given order) and trims columns no kept row uses. Consumes this cache. */
  select(rows: readonly number[]): KVCache {
    let used = 0;
    for (const r of rows) {
      for (let j = this.width - 1; j >= used; j--) {
        if (this.valid[r * this.width + j]) {
          used = j + 1;
          break;
        }
      }
    }
    const idx = tf.tensor1d(Int32Array.from(rows), 'int32');
    const layers = tf.tidy(() =>
      this.layers.map(({ k, v }) => ({
        k: tf.slice(tf.gather(k, idx, 0), [0, 0, 0, 0], [-1, -1, used, -1]) as tf.Tensor4D,
        v: tf.slice(tf.gather(v, idx, 0), [0, 0, 0, 0], [-1, -1, used, -1]) as tf.Tensor4D,
      })),
    );
    idx.dispose();
    const valid = new Uint8Array(rows.length * used);
    rows.forEach((r, i) => valid.set(this.valid.subarray(r * this.width, r * this.width + used), i * used));
    const positions = rows.map((r) => this.nextPosition[r]);
    this.dispose();
    return new KVCache(layers, valid, used, positions);
  }

  dispose(): void {
    for (const { k, v } of this.layers) {
      k.dispose();
      v.dispose();
    }
    this.layers = [];
  }
}

/** Logits of the last position of each row, as host arrays [V]. */
export type StepLogits = Float32Array[];

/** Runs one prompt through the model into a fresh cache; returns the logits after its last token. */
export function prefill(model: TransformerModel, tokens: readonly number[]): { cache: KVCache; logits: Float32Array } {
  const { cache, logits } = prefillBatch(model, [tokens]);
  return { cache, logits: logits[0] };
}

/**
 * Runs B prompts through the model as one batch into a fresh B-row cache (one forward instead of B: far fewer kernel
 * dispatches) and returns each row's logits after its last token. Prompts may differ in length: they are padded on
 * the right to the longest, which causal attention makes harmless (a real token never attends to a later position);
 * the padded columns are marked invalid in the cache and each row's next position is its own length, so decoding
 * continues exactly as if the row had been prefilled alone.
 */
export function prefillBatch(model: TransformerModel, prompts: readonly (readonly number[])[]): { cache: KVCache; logits: StepLogits } {
  const B = prompts.length;
  const lengths = prompts.map((p) => p.length);
  const T = Math.max(0, ...lengths);
  if (B === 0 || lengths.some((n) => n === 0)) throw new Error('prefill needs at least one prompt, each of at least one token');
  const flat = new Int32Array(B * T); // padding ids are 0: they only ever sit after a row's real tokens
  const valid = new Uint8Array(B * T);
  prompts.forEach((p, b) => {
    flat.set(p, b * T);
    valid.fill(1, b * T, b * T + p.length);
  });
  const positions = Int32Array.from({ length: B * T }, (_, i) => i % T);
  const { layers, logits } = tf.tidy(() => {
    const ids = tf.tensor1d(flat, 'int32');
    const { hidden, kv } = model.core({ ids, batch: B, time: T, positions, returnKV: true });
    // Last real position of each row: row b·T + length_b − 1 of [B*T, C].
    const lastRows = Int32Array.from(lengths, (n, b) => b * T + n - 1);
    const last = B === 1 && T === lengths[0] ? tf.slice(hidden, [T - 1, 0], [1, -1]) : tf.gather(hidden, tf.tensor1d(lastRows, 'int32'));
    return { layers: kv, logits: model.head(last as tf.Tensor2D) }; // [B, V]
  });
  const data = logits.dataSync() as Float32Array;
  const V = model.config.vocab_size;
  const rows = Array.from({ length: B }, (_, b) => data.slice(b * V, (b + 1) * V));
  logits.dispose();
  return { cache: new KVCache(layers, valid, T, lengths), logits: rows };
}

/**
 * Feeds one new token to every row of the cache (row i gets tokens[i] at its own next position) and returns each
 * row's next-token logits. The cache grows by one column.
 */
export function decodeStep(model: TransformerModel, cache: KVCache, tokens: readonly number[]): StepLogits {
  const N = cache.size;
  if (tokens.length !== N) throw new Error(`decodeStep: ${tokens.length} tokens for ${N} cached sequences`);
  const positions = Int32Array.from(cache.nextPosition);
  const { layers, logits } = tf.tidy(() => {
    const ids = tf.tensor1d(Int32Array.from(tokens), 'int32');
    const { hidden, kv } = model.core({
      ids,
      batch: N,
      time: 1,
      positions,
      past: { layers: cache.layers, valid: cache.valid, length: cache.width },
      returnKV: true,
    });
    return { layers: kv, logits: model.head(hidden) }; // logits [N, V]
  });
  const data = logits.dataSync() as Float32Array;
  const V = model.config.vocab_size;
  const rows: Float32Array[] = [];
  for (let i = 0; i < N; i++) rows.push(data.slice(i * V, (i + 1) * V));
  logits.dispose();
  const W = cache.width + 1;
  const valid = new Uint8Array(N * W);
  for (let i = 0; i < N; i++) {
    valid.set(cache.valid.subarray(i * cache.width, (i + 1) * cache.width), i * W);
    valid[i * W + W - 1] = 1;
  }
  for (const { k, v } of cache.layers) {
    k.dispose();
    v.dispose();
  }
  cache.layers = layers;
  cache.valid = valid;
  cache.width = W;
  cache.nextPosition = cache.nextPosition.map((p) => p + 1);
  return rows;
}

/** Next-token logits of full sequences without any cache (the reference the cached path is tested against). */
export function uncachedLogits(model: TransformerModel, tokens: readonly number[]): Float32Array {
  const logits = tf.tidy(() => {
    const T = tokens.length;
    const ids = tf.tensor1d(Int32Array.from(tokens), 'int32');
    const { hidden } = model.core({ ids, batch: 1, time: T, positions: Int32Array.from({ length: T }, (_, i) => i) });
    return model.head(tf.slice(hidden, [T - 1, 0], [1, -1]));
  });
  const out = new Float32Array(logits.dataSync() as Float32Array);
  logits.dispose();
  return out;
}
