import * as tf from '@tensorflow/tfjs-core';

import { decodeStep, KVCache, prefillBatch, TransformerModel, uncachedLogits } from '@tracetune/model';
import { maxAbsDiff, tinyConfig, useBackend } from '@tracetune/model/testing';

import { disposePrefix, PrefixCache } from './prefix-cache';

describe('PrefixCache and prefill after a cached prefix', () => {
  let model: TransformerModel;
  beforeAll(async () => {
    await useBackend('wasm');
    model = TransformerModel.random(tinyConfig({ vocab_size: 261, max_position_embeddings: 96 }), 5);
  });
  afterAll(() => model.dispose());

  const shared = Array.from({ length: 20 }, (_, i) => 30 + i); // a "system prompt" of 20 tokens
  const first = [...shared, 1, 2, 3];
  const second = [...shared, 7, 8];
  const third = [...shared, 9, 10, 11, 12, 13, 14];

  it('should give the logits of a full prefill, and decode on from there, when only the tail is computed', () => {
    const cache = new PrefixCache(1 << 20, 8);
    const full = prefillBatch(model, [first]);
    cache.insert(first, full.cache, 0);
    full.cache.dispose();
    expect(cache.stats).toMatchObject({ entries: 1 });

    // Two prompts sharing the cached 20-token prefix, prefilled together as one padded batch of their tails.
    const hit = cache.lookup(second);
    expect(hit?.length).toBe(20);
    expect(cache.lookup(third)?.key).toBe(hit?.key); // same entry and length: they may share a prefill
    const prefix = hit!.take();
    const { cache: kv, logits } = prefillBatch(model, [second.slice(20), third.slice(20)], prefix);
    disposePrefix(prefix);
    expect(maxAbsDiff(logits[0], uncachedLogits(model, second))).toBeLessThan(1e-4);
    expect(maxAbsDiff(logits[1], uncachedLogits(model, third))).toBeLessThan(1e-4);
    expect(kv.width).toBe(third.length); // the prefix's 20 columns + the longer tail's 6
    expect(kv.nextPosition).toEqual([second.length, third.length]);

    // Decoding continues from each row's own length, also after joining a batch of a different width.
    const other = prefillBatch(model, [[5, 6, 7]]);
    const merged = KVCache.merge([other.cache, kv]);
    const next = decodeStep(model, merged, [40, 41, 42]);
    expect(maxAbsDiff(next[1], uncachedLogits(model, [...second, 41]))).toBeLessThan(1e-4);
    expect(maxAbsDiff(next[2], uncachedLogits(model, [...third, 42]))).toBeLessThan(1e-4);
    merged.dispose();
    cache.clear();
  });

  it('should match at least minLength tokens, leave one token to compute, and count hits, misses and reused tokens', () => {
    const cache = new PrefixCache(1 << 20, 8);
    expect(cache.lookup(first)).toBeNull(); // empty: a miss
    const full = prefillBatch(model, [first]);
    cache.insert(first, full.cache, 0);
    full.cache.dispose();
    expect(cache.lookup([...shared.slice(0, 7), 99])).toBeNull(); // 7 shared tokens: below minLength
    expect(cache.lookup(first)?.length).toBe(first.length - 1); // the same prompt again: its last token is computed
    const again = prefillBatch(model, [first]).cache;
    cache.insert(first.slice(0, 12), again, 0); // covered by the entry: not stored
    again.dispose();
    expect(cache.stats).toMatchObject({ entries: 1, hits: 1, misses: 2, reusedTokens: first.length - 1 });
    cache.clear();
  });

  it('should evict the least recently used entries beyond its byte budget and leak no tensors', () => {
    const before = tf.memory().numTensors;
    const run = prefillBatch(model, [first, [60, 61, 62, 63, 64, 65, 66, 67, 68, 69]]);
    const probe = new PrefixCache(1 << 20, 8);
    probe.insert(first, run.cache, 0);
    const oneEntry = probe.stats.bytes;
    probe.clear();
    const cache = new PrefixCache(oneEntry, 8); // room for the first entry only
    cache.insert(first, run.cache, 0);
    cache.insert([60, 61, 62, 63, 64, 65, 66, 67, 68, 69], run.cache, 1); // over budget together
    expect(cache.stats.entries).toBe(1);
    expect(cache.lookup(first)).toBeNull(); // the older entry went
    cache.clear();
    run.cache.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
