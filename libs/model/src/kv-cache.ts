import * as tf from '@tensorflow/tfjs-core';

import { CachedAttention, type LayerKV } from './attention';
import { rangePositions } from './masks';
import type { TransformerModel } from './model';

/**
 * Keys/values of a batch of N sequences, per layer [N, Hkv, P, D], in P columns. Sequences can have different
 * lengths: `valid` [N, P] marks the columns that hold a real token of that row, and `nextPosition[i]` is the RoPE
 * position of row i's next token (its own length; keys are stored with RoPE applied, so a token's column is only
 * storage, never its position). This lets a server batch sequences that started at different times (continuous
 * batching): prefill each request into its own cache, `KVCache.merge` them into the running batch, `decodeStep` all
 * rows at once, and `select` the rows that continue when some finish.
 *
 * Layout: rows end in the last column. `decodeStep` appends one column for every row, `merge` pads shorter caches on
 * the left, and `select` drops leading columns no kept row uses (a batched prefill pads short prompts on the right:
 * those holes stay masked). The width is therefore bounded by the longest kept row's span, not by the age of the
 * batch: a batch that runs for hours while requests come and go stays as wide as its longest live sequence. (Padding
 * merges on the right instead widened a batch that never empties by one column per step, for good: attention and
 * cache copies grew with the server's uptime.)
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

  /** Joins caches row-wise (in order), padding each on the left to the widest. Consumes the inputs. */
  static merge(caches: readonly KVCache[]): KVCache {
    if (caches.length === 0) throw new Error('KVCache.merge needs at least one cache');
    if (caches.length === 1) return caches[0];
    const width = Math.max(...caches.map((c) => c.width));
    const layerCount = caches[0].layers.length;
    const layers = tf.tidy(() => {
      const out: LayerKV[] = [];
      for (let l = 0; l < layerCount; l++) {
        const pad = (t: tf.Tensor4D, w: number): tf.Tensor4D =>
          w === width
            ? t
            : tf.pad(t, [
                [0, 0],
                [0, 0],
                [width - w, 0],
                [0, 0],
              ]);
        out.push({
          k: tf.concat(
            caches.map((c) => pad(c.layers[l].k, c.width)),
            0,
          ),
          v: tf.concat(
            caches.map((c) => pad(c.layers[l].v, c.width)),
            0,
          ),
        });
      }
      return out;
    });
    const n = caches.reduce((s, c) => s + c.size, 0);
    const valid = new Uint8Array(n * width);
    let row = 0;
    for (const c of caches) {
      const offset = width - c.width;
      for (let i = 0; i < c.size; i++, row++)
        valid.set(c.valid.subarray(i * c.width, (i + 1) * c.width), row * width + offset);
    }
    const positions = caches.flatMap((c) => c.nextPosition);
    caches.forEach((c) => c.dispose());
    return new KVCache(layers, valid, width, positions);
  }

  /** Keeps the given rows (in the given order) and drops leading columns no kept row uses. Consumes this cache. */
  select(rows: readonly number[]): KVCache {
    let first = this.width;
    for (const r of rows) {
      for (let j = 0; j < first; j++) {
        if (this.valid[r * this.width + j]) {
          first = j;
          break;
        }
      }
    }
    if (rows.length === 0) first = this.width;
    const used = this.width - first;
    // Runs of consecutive rows are sliced whole and concatenated: wasm's GatherV2 copies element by element (≈ 3 ms
    // for a [16, 2, 96, 32] cache tensor, so 16 of them made every departure from a batch cost ≈ 45 ms).
    const runs: [number, number][] = [];
    for (const r of rows) {
      const last = runs[runs.length - 1];
      if (last && last[0] + last[1] === r) last[1] += 1;
      else runs.push([r, 1]);
    }
    const take = (t: tf.Tensor4D): tf.Tensor4D => {
      const pieces = runs.map(
        ([start, count]) => tf.slice(t, [start, 0, first, 0], [count, -1, used, -1]) as tf.Tensor4D,
      );
      if (pieces.length === 0) return tf.slice(t, [0, 0, first, 0], [0, -1, used, -1]) as tf.Tensor4D;
      return pieces.length === 1 ? pieces[0] : tf.concat(pieces, 0);
    };
    const layers = tf.tidy(() => this.layers.map(({ k, v }) => ({ k: take(k), v: take(v) })));
    const valid = new Uint8Array(rows.length * used);
    rows.forEach((r, i) =>
      valid.set(this.valid.subarray(r * this.width + first, (r + 1) * this.width), i * used),
    );
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
export function prefill(
  model: TransformerModel,
  tokens: readonly number[],
): { cache: KVCache; logits: Float32Array } {
  const { cache, logits } = prefillBatch(model, [tokens]);
  return { cache, logits: logits[0] };
}

/** Keys/values of one token prefix shared by the rows of a prefill: per layer [1, Hkv, L, D], RoPE applied. */
export interface CachedPrefix {
  layers: LayerKV[];
  length: number;
}

/**
 * Runs B prompts through the model as one batch into a fresh B-row cache (one forward instead of B: far fewer kernel
 * dispatches) and returns each row's logits after its last token. Prompts may differ in length: they are padded on
 * the right to the longest, which causal attention makes harmless (a real token never attends to a later position);
 * the padded columns are marked invalid in the cache and each row's next position is its own length, so decoding
 * continues exactly as if the row had been prefilled alone.
 *
 * With `prefix`, the prompts are what follows that prefix (every row shares it): only they are computed, at positions
 * after the prefix, attending to its cached keys and values; the returned cache holds prefix + prompt, as if the
 * whole had been prefilled. The prefix's tensors stay the caller's.
 */
export function prefillBatch(
  model: TransformerModel,
  prompts: readonly (readonly number[])[],
  prefix?: CachedPrefix,
): { cache: KVCache; logits: StepLogits } {
  const B = prompts.length;
  const L = prefix?.length ?? 0;
  const lengths = prompts.map((p) => p.length);
  const T = Math.max(0, ...lengths);
  if (B === 0 || lengths.some((n) => n === 0))
    throw new Error('prefill needs at least one prompt, each of at least one token');
  const flat = new Int32Array(B * T); // padding ids are 0: they only ever sit after a row's real tokens
  const valid = new Uint8Array(B * (L + T));
  prompts.forEach((p, b) => {
    flat.set(p, b * T);
    valid.fill(1, b * (L + T), b * (L + T) + L + p.length);
  });
  const positions = Int32Array.from({ length: B * T }, (_, i) => L + (i % T));
  const { layers, logits } = tf.tidy(() => {
    const ids = tf.tensor1d(flat, 'int32');
    const past = prefix
      ? {
          layers: prefix.layers.map(({ k, v }) =>
            B === 1 ? { k, v } : { k: tf.tile(k, [B, 1, 1, 1]), v: tf.tile(v, [B, 1, 1, 1]) },
          ),
          valid: new Uint8Array(B * L).fill(1),
          length: L,
        }
      : undefined;
    const attention = new CachedAttention(model.config, B, T, past);
    const hidden = model.forward({ ids, batch: B, time: T, positions }, attention); // [B*T, C]
    // Last real position of each row: row b·T + length_b − 1 of [B*T, C].
    const lastRows = Int32Array.from(lengths, (n, b) => b * T + n - 1);
    const last =
      B === 1 && T === lengths[0]
        ? tf.slice(hidden, [T - 1, 0], [1, -1])
        : tf.gather(hidden, tf.tensor1d(lastRows, 'int32'));
    return { layers: attention.layers, logits: model.head(last as tf.Tensor2D) }; // [B, V]
  });
  const data = logits.dataSync() as Float32Array;
  const V = model.config.vocab_size;
  const rows = Array.from({ length: B }, (_, b) => data.slice(b * V, (b + 1) * V));
  logits.dispose();
  return {
    cache: new KVCache(
      layers,
      valid,
      L + T,
      lengths.map((n) => L + n),
    ),
    logits: rows,
  };
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
    const past = { layers: cache.layers, valid: cache.valid, length: cache.width };
    const attention = new CachedAttention(model.config, N, 1, past);
    const hidden = model.forward({ ids, batch: N, time: 1, positions }, attention); // [N, C]
    return { layers: attention.layers, logits: model.head(hidden) }; // logits [N, V]
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
    const hidden = model.forward({ ids, batch: 1, time: T, positions: rangePositions(1, T) }); // [T, C]
    return model.head(tf.slice(hidden, [T - 1, 0], [1, -1]));
  });
  const out = new Float32Array(logits.dataSync() as Float32Array);
  logits.dispose();
  return out;
}
