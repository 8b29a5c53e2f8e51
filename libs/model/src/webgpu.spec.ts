import * as tf from '@tensorflow/tfjs-core';

import {
  expectContinuousBatching,
  maxAbsDiff,
  randomizeBiases,
  tinyConfig,
  tinyQwen2Config,
  tinyQwen3Config,
  values,
} from '../test/helpers';
import { referenceLogits } from '../test/reference';
import { backendTensorLimitBytes, setupBackend, type BackendReport } from './backend';
import { largestWeight } from './fit';
import { KVCache, prefill, uncachedLogits } from './kv-cache';
import { TransformerModel } from './model';
import { generate } from './sampler';

// The webgpu backend (Dawn over Vulkan). In CI it runs on Mesa's software Vulkan driver, lavapipe, which
// tools/scripts/ensure-lavapipe.sh installs; on a GPU machine it runs on the GPU. Never skipped: no adapter is a failure.
jest.setTimeout(120_000);

describe('the webgpu backend', () => {
  let report: BackendReport;
  beforeAll(async () => {
    report = await setupBackend('webgpu');
  });
  afterAll(() => setupBackend('cpu'));

  it('should start when asked for by name and name its adapter with its limits', () => {
    expect(report.backend).toBe('webgpu');
    expect(report.loaded).toBe('webgpu');
    const adapter = report.adapter;
    expect(adapter).not.toBeNull();
    expect(adapter?.vendor.length).toBeGreaterThan(0);
    expect(adapter?.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(backendTensorLimitBytes()).toBe(
      Math.min(adapter?.limits.maxBufferSize ?? 0, adapter?.limits.maxStorageBufferBindingSize ?? 0),
    );
  });

  it('should be chosen by auto only on a hardware adapter, and say why it was skipped otherwise', async () => {
    const auto = await setupBackend('auto');
    if (report.adapter?.software) {
      const skipped = auto.fallbacks.find((f) => f.choice === 'webgpu');
      expect(auto.backend).not.toBe('webgpu');
      expect(skipped?.error).toMatch(/only a software adapter/);
    } else {
      expect(auto.backend).toBe('webgpu');
    }
    await setupBackend('webgpu');
  });

  // The three architectures against a float64 forward pass; float32 on the GPU, logits O(0.1).
  it.each([
    ['Llama (GQA, untied head)', () => TransformerModel.random(tinyConfig(), 3)],
    [
      'Qwen2 (q/k/v biases, tied head)',
      () => TransformerModel.random(tinyQwen2Config({ tie_word_embeddings: true }), 4),
    ],
    ['Qwen3 (q/k RMSNorm, head_dim ≠ hidden/heads)', () => TransformerModel.random(tinyQwen3Config(), 6)],
  ])('should match the float64 reference forward pass: %s', (_, make) => {
    const model = make();
    randomizeBiases(model);
    const tokens = [5, 9, 1, 33, 7, 7, 20];
    const got = model.logits([tokens]);
    expect(maxAbsDiff(values(got), referenceLogits(model, tokens).flat())).toBeLessThan(1e-4);
    got.dispose();
    model.dispose();
  });

  it('should decode with the KV cache exactly as a full forward pass, rows joining and leaving', () => {
    const model = TransformerModel.random(
      tinyQwen2Config({ vocab_size: 261, max_position_embeddings: 48 }),
      21,
    );
    randomizeBiases(model);
    const prompts = [[10, 20, 30], [40, 50, 60, 70, 80, 90], [5]];
    const first = prefill(model, prompts[0]);
    expect(maxAbsDiff(first.logits, uncachedLogits(model, prompts[0]))).toBeLessThan(1e-4);
    const joined = KVCache.merge([first.cache, prefill(model, prompts[1]).cache]);
    expectContinuousBatching(model, joined, prompts, [0, 2]).dispose();
    const opts = { maxNewTokens: 8, temperature: 1, topP: 0.95, seed: 7 };
    const cached = generate(model, prompts, opts);
    const uncached = generate(model, prompts, { ...opts, useCache: false });
    expect(cached.map((c) => c.tokens)).toEqual(uncached.map((c) => c.tokens));
    model.dispose();
  });

  it('should refuse a model whose largest weight exceeds the adapter limits, before allocating anything', () => {
    const limit = backendTensorLimitBytes() ?? 0;
    const hidden = 16;
    const config = tinyConfig({ vocab_size: Math.ceil(limit / (4 * hidden)) + 1 });
    expect(largestWeight(config).bytes).toBeGreaterThan(limit);
    const before = tf.memory().numTensors;
    expect(() => TransformerModel.random(config, 1)).toThrow(
      /does not fit this WebGPU adapter.*embed_tokens/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
