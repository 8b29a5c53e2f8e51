import * as tf from '@tensorflow/tfjs-core';

import { maxAbsDiff, tinyConfig, useBackend } from '../test/helpers';
import { slotAttention } from './kernels/attention';
import { KVCache, prefillBatch, uncachedLogits } from './kv-cache';
import { TransformerModel } from './model';
import { decodeSlots, SlotCache } from './slot-cache';

describe('SlotCache', () => {
  let model: TransformerModel;
  beforeAll(async () => {
    await useBackend('wasm');
    // Head size 8 (the slot kernel runs) on 4 query heads over 2 KV heads; small enough to outgrow.
    model = TransformerModel.random(
      tinyConfig({ hidden_size: 32, head_dim: 8, vocab_size: 64, max_position_embeddings: 256 }),
      5,
    );
    // The model keeps its fused inference weights and a causal mask per length: built here, before tensors are counted.
    for (let n = 1; n <= 20; n++) uncachedLogits(model, new Array<number>(n).fill(1));
    prefillBatch(model, [[1]]).cache.dispose();
  });
  afterAll(() => model.dispose());

  it('should grow a slot cache in rows and columns without losing what it holds', () => {
    const before = tf.memory().numTensors;
    const cache = new SlotCache(model, 2, 4); // 2 slots of 4 columns: both outgrown below
    const seqs = [[3, 9, 27], [5, 10, 15, 20, 25, 30, 35], [7], [2, 4, 6, 8, 10]];
    const slots = seqs.map((p) => {
      const prefilled = prefillBatch(model, [p]).cache;
      const slot = cache.adopt(prefilled, 0);
      prefilled.dispose();
      return slot;
    });
    expect(cache.rows).toBe(4);
    for (let step = 0; step < 10; step++) {
      const tokens = seqs.map((seq, r) => (seq.length * 5 + r) % 64);
      const logits = decodeSlots(model, cache, slots, tokens);
      seqs.forEach((seq, r) => seq.push(tokens[r]));
      logits.forEach((l, r) => expect(maxAbsDiff(l, uncachedLogits(model, seqs[r]))).toBeLessThan(1e-4));
    }
    expect(cache.columns).toBe(32); // 4 → 8 → 16 → 32 for the 17 tokens of the longest
    expect(slots.map((s) => cache.length(s))).toEqual(seqs.map((q) => q.length));
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('should refuse slots and columns outside the cache, and rows that are not a prefill', () => {
    const cache = new SlotCache(model, 2, 8);
    const q = tf.zeros([1, 4, 8]) as tf.Tensor3D;
    const kv = tf.zeros([1, 2, 8]) as tf.Tensor3D;
    const at =
      (slot: number, column: number): (() => tf.Tensor) =>
      () =>
        slotAttention(
          q,
          kv,
          kv,
          cache.layers[0].k,
          cache.layers[0].v,
          tf.tensor1d([slot], 'int32'),
          tf.tensor1d([column], 'int32'),
        );
    expect(at(2, 0)).toThrow(/outside \[2, 8\]/);
    expect(at(0, 8)).toThrow(/outside \[2, 8\]/);
    expect(at(0, 7)).not.toThrow();
    const padded = prefillBatch(model, [[1, 2, 3], [4]]).cache;
    expect(cache.adopt(padded, 1)).toBe(0); // right padding after its tokens is fine
    expect(cache.length(0)).toBe(1);
    const merged = KVCache.merge([padded, prefillBatch(model, [[5]]).cache]); // row 2: left padding before its token
    expect(() => cache.adopt(merged, 2)).toThrow(/not a prefill/);
    expect(() => cache.release(1)).toThrow(/not in use/);
    cache.release(0);
    merged.dispose();
    tf.dispose([q, kv]);
    cache.dispose();
  });
});
