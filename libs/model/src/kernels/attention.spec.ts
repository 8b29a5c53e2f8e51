import * as tf from '@tensorflow/tfjs-core';

import { expectContinuousBatching, maxAbsDiff, tinyConfig, useBackend } from '../../test/helpers';
import { prefill, prefillBatch, uncachedLogits } from '../kv-cache';
import { TransformerModel } from '../model';
import { Rng } from '../rng';
import { fusedAttention, fusedAttentionAvailable } from './attention';

/** Causal attention of T new queries per (row, head) in float64: the reference the kernel is held to. */
function reference(
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  valid: Int32Array,
  dims: Dims,
): Float64Array {
  const { N, H, Hkv, T, S, D } = dims;
  const out = new Float64Array(N * H * T * D);
  const g = H / Hkv;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      const base = (n * Hkv + Math.floor(h / g)) * S * D;
      for (let t = 0; t < T; t++) {
        const qi = ((n * H + h) * T + t) * D;
        const scores = Array.from({ length: S }, (_, s) => {
          if (!valid[n * S + s] || s > S - T + t) return -Infinity;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qi + d] * k[base + s * D + d];
          return dot;
        });
        const max = Math.max(...scores);
        const p = scores.map((x) => (x === -Infinity ? 0 : Math.exp(x - max)));
        const sum = p.reduce((a, b) => a + b, 0);
        for (let s = 0; s < S; s++)
          for (let d = 0; d < D; d++) out[qi + d] += (p[s] / sum) * v[base + s * D + d];
      }
    }
  }
  return out;
}

interface Dims {
  N: number;
  H: number;
  Hkv: number;
  T: number;
  S: number;
  D: number;
}

describe('fused attention kernel (wasm)', () => {
  beforeAll(() => useBackend('wasm'));

  it('should be available on wasm for head sizes in whole f32x4 groups only', () => {
    expect(fusedAttentionAvailable(32)).toBe(true);
    expect(fusedAttentionAvailable(24)).toBe(true);
    expect(fusedAttentionAvailable(6)).toBe(false);
  });

  it.each<Dims>([
    { N: 1, H: 1, Hkv: 1, T: 1, S: 1, D: 4 },
    { N: 3, H: 4, Hkv: 2, T: 1, S: 7, D: 24 },
    { N: 16, H: 6, Hkv: 2, T: 1, S: 121, D: 32 },
    { N: 2, H: 8, Hkv: 8, T: 1, S: 33, D: 64 },
    { N: 1, H: 6, Hkv: 2, T: 9, S: 9, D: 32 }, // a prefill without a cached prefix
    { N: 3, H: 4, Hkv: 2, T: 5, S: 17, D: 24 }, // a batched prefill after a cached prefix
  ])('should match a float64 reference with masked columns: %o', (dims) => {
    const { N, H, Hkv, T, S, D } = dims;
    const rng = new Rng(N * 1000 + S * 10 + T);
    const rand = (n: number, scale: number): Float32Array =>
      Float32Array.from({ length: n }, () => rng.normal() * scale);
    const q = rand(N * H * T * D, 0.5);
    const k = rand(N * Hkv * S * D, 1);
    const v = rand(N * Hkv * S * D, 1);
    // The new columns are real tokens; cached ones are masked at random, some rows heavily.
    const valid = Int32Array.from({ length: N * S }, (_, i) =>
      i % S >= S - T || rng.next() < (Math.floor(i / S) % 2 ? 0.9 : 0.3) ? 1 : 0,
    );
    const out = tf.tidy(() =>
      fusedAttention(
        tf.tensor4d(q, [N, H, T, D]),
        tf.tensor4d(k, [N, Hkv, S, D]),
        tf.tensor4d(v, [N, Hkv, S, D]),
        tf.tensor2d(valid, [N, S], 'int32'),
      ),
    );
    const got = out.dataSync() as Float32Array;
    out.dispose();
    expect(maxAbsDiff(got, Float32Array.from(reference(q, k, v, valid, dims)))).toBeLessThan(1e-5);
  });

  it('should reject inputs whose shapes do not fit together', () => {
    const q = tf.zeros([2, 4, 1, 8]) as tf.Tensor4D;
    const kv = tf.zeros([2, 2, 5, 8]) as tf.Tensor4D;
    expect(() => fusedAttention(q, kv, kv, tf.zeros([2, 4], 'int32') as tf.Tensor2D)).toThrow(
      /incompatible shapes/,
    );
    expect(() => fusedAttention(q, kv, kv, tf.zeros([2, 5], 'float32') as tf.Tensor2D)).toThrow(/int32/);
    tf.dispose([q, kv]);
  });

  it('should prefill and decode a continuously batched cache with the logits of the uncached model', () => {
    // Head size 8 (the kernel runs) on 4 query heads over 2 KV heads; rows of different lengths join and leave; two
    // rows are prefilled together (right-padded), one after a cached prefix.
    const model = TransformerModel.random(tinyConfig({ hidden_size: 32, head_dim: 8, vocab_size: 64 }), 5);
    const prompts = [[3, 9, 27], [5, 10, 15, 20, 25, 30, 35], [7]];
    const batched = prefillBatch(model, prompts.slice(0, 2));
    batched.logits.forEach((l, i) =>
      expect(maxAbsDiff(l, uncachedLogits(model, prompts[i]))).toBeLessThan(1e-4),
    );
    const prefix = prefill(model, [5, 10, 15]);
    const tail = prefillBatch(
      model,
      [
        [20, 25, 30, 35],
        [21, 22],
      ],
      { layers: prefix.cache.layers, length: 3 },
    );
    expect(maxAbsDiff(tail.logits[0], uncachedLogits(model, prompts[1]))).toBeLessThan(1e-4);
    expect(maxAbsDiff(tail.logits[1], uncachedLogits(model, [5, 10, 15, 21, 22]))).toBeLessThan(1e-4);
    tail.cache.dispose();
    prefix.cache.dispose();
    expectContinuousBatching(model, batched.cache, prompts, [2, 0]).dispose();
    model.dispose();
  });
});
