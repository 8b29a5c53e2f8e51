import * as tf from '@tensorflow/tfjs-core';

import { prefillBatch, TransformerModel, uncachedLogits } from '@tracetune/model';
import {
  maxAbsDiff,
  randomizeBiases,
  tinyConfig,
  tinyQwen2Config,
  useBackend,
} from '@tracetune/model/testing';

import { createDecodeBatch, type DecodeBatch } from './decode-batch';
import { PrefixCache } from './prefix-cache';

/**
 * Sequences join (two at once, then one every third step, the later ones sharing a long start with an earlier prompt),
 * decode, and leave (the oldest, every third step); every row's logits must be those of the uncached model on its
 * whole sequence, whichever way its keys and values were computed.
 */
function scenario(model: TransformerModel, batch: DecodeBatch, steps: number): void {
  const shared = [21, 22, 23, 24, 25, 26, 27, 28, 29, 30];
  // The first three join together; the tensor batch prefills 0 and 2 as one group (tails of 3 and 4) and 1 alone,
  // then puts the rows back in prompt order.
  const prompts = [
    [3, 9, 27],
    [...shared, 5, 10, 15],
    [7, 8, 9, 10],
    [...shared, 2, 4],
    [...shared, 5, 11],
    [11, 13],
  ];
  const live: number[][] = [];
  let next = 0;
  let joining: number[][] = [prompts[next++], prompts[next++], prompts[next++]];
  for (let step = 0; step < steps; step++) {
    const tokens = live.map((seq, r) => (seq.length * 7 + r) % model.config.vocab_size);
    const logits = batch.step(tokens, joining);
    live.forEach((seq, r) => seq.push(tokens[r]));
    live.push(...joining.map((p) => [...p]));
    joining = [];
    expect(logits).toHaveLength(live.length);
    logits.forEach((l, r) => expect(maxAbsDiff(l, uncachedLogits(model, live[r]))).toBeLessThan(1e-4));
    if (step % 3 === 2) {
      batch.keep(live.map((_, r) => r).filter((r) => r !== 0)); // the oldest leaves; its slot is reused
      live.splice(0, 1);
    }
    if (step % 3 === 1) joining = [prompts[next++ % prompts.length]];
  }
  expect(batch.size).toBe(live.length);
}

describe('DecodeBatch', () => {
  let model: TransformerModel;
  beforeAll(async () => {
    await useBackend('wasm');
    // Head size 8 (the slot kernel runs) on 4 query heads over 2 KV heads; long enough to outgrow 64 columns.
    model = TransformerModel.random(
      tinyConfig({ hidden_size: 32, head_dim: 8, vocab_size: 64, max_position_embeddings: 256 }),
      5,
    );
    // The model keeps its fused inference weights and a causal mask per length: built here, before tensors are counted.
    for (let n = 1; n <= 100; n++) uncachedLogits(model, new Array<number>(n).fill(1));
    prefillBatch(model, [[1]]).cache.dispose();
  });
  afterAll(() => model.dispose());

  it.each(['slots', 'tensor'] as const)(
    'should decode a continuously batched %s batch with the logits of the uncached model',
    (kind) => {
      const before = tf.memory().numTensors;
      const batch = createDecodeBatch(model, null, kind);
      scenario(model, batch, 12);
      batch.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  it.each(['slots', 'tensor'] as const)(
    'should reuse cached prompt prefixes in a %s batch with the same logits',
    (kind) => {
      const prefixes = new PrefixCache(1 << 20, 8);
      const batch = createDecodeBatch(model, prefixes, kind);
      scenario(model, batch, 15);
      expect(prefixes.stats.hits).toBeGreaterThanOrEqual(2); // the prompts that start with `shared`
      expect(prefixes.stats.reusedTokens).toBeGreaterThanOrEqual(2 * 10);
      batch.dispose();
      prefixes.clear();
    },
  );

  it.each([
    [
      'Qwen2 (q/k/v biases)',
      tinyQwen2Config({ hidden_size: 32, head_dim: 8, vocab_size: 64, max_position_embeddings: 128 }),
    ],
    [
      'Qwen3 (q/k norms)',
      tinyConfig({
        hidden_size: 32,
        head_dim: 8,
        vocab_size: 64,
        max_position_embeddings: 128,
        qk_norm: true,
      }),
    ],
  ])('should decode a %s model in a slot batch with the logits of the uncached model', (_name, config) => {
    const other = TransformerModel.random(config, 9);
    randomizeBiases(other);
    const batch = createDecodeBatch(other, null, 'slots');
    scenario(other, batch, 9);
    batch.dispose();
    other.dispose();
  });
});
