import * as tf from '@tensorflow/tfjs-core';

import { setupBackend, type BackendChoice } from '../src/backend';
import { configFromHf, type ModelConfig } from '../src/config';
import { decodeStep, KVCache, prefill, uncachedLogits } from '../src/kv-cache';
import type { TransformerModel } from '../src/model';

/** Selects a tfjs backend for a spec file (quietly). */
export async function useBackend(choice: BackendChoice): Promise<void> {
  const report = await setupBackend(choice);
  if (report.backend !== choice) throw new Error(`backend ${choice} unavailable: ${report.reason}`);
}

/** A hand-made tiny config: GQA (4 query heads on 2 KV heads), optional Qwen2 biases, untied head. */
export function tinyConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: 40,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 4,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    max_position_embeddings: 64,
    tie_word_embeddings: false,
    attention_bias: false,
    qk_norm: false,
    bos_token_id: 1,
    eos_token_id: 2,
    hidden_act: 'silu',
    ...overrides,
  };
}

/** Qwen2 flavour of the tiny config (q/k/v biases always on). */
export function tinyQwen2Config(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return tinyConfig({
    architectures: ['Qwen2ForCausalLM'],
    model_type: 'qwen2',
    attention_bias: true,
    ...overrides,
  });
}

/** Qwen3 flavour through configFromHf (its q/k norms come from model_type): head_dim 6 ≠ hidden/heads, tied head. */
export function tinyQwen3Config(): ModelConfig {
  const tiny = tinyConfig();
  const sizes = [
    'vocab_size',
    'hidden_size',
    'intermediate_size',
    'num_hidden_layers',
    'num_attention_heads',
    'num_key_value_heads',
    'rms_norm_eps',
  ] as const;
  const hf: Record<string, unknown> = {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    head_dim: 6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  };
  for (const key of sizes) hf[key] = tiny[key];
  return configFromHf(hf);
}

/** Gives every zero-initialised bias random values so tests exercise them. */
export function randomizeBiases(model: TransformerModel, seed = 1): void {
  let s = seed;
  for (const [name, v] of model.namedWeights()) {
    if (!name.endsWith('.bias')) continue;
    const data = Float32Array.from(
      { length: v.size },
      () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 0.5,
    );
    const values = tf.tensor(data, v.shape);
    v.assign(values);
    values.dispose(); // the variable holds its own reference to the data
  }
}

/** Host copy of a tensor. */
export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** optimizer.applyGradients with the map tf.variableGrads returns (its declared type is narrower than what it accepts). */
export function applyGrads(opt: tf.Optimizer, grads: tf.NamedTensorMap): void {
  opt.applyGradients(grads as Parameters<tf.Optimizer['applyGradients']>[0]);
}

/**
 * Continuous batching on a KVCache: `cache` holds prompts[0] and prompts[1] (rows 0 and 1); they decode a token,
 * prompts[2] joins mid-flight, all three decode, then only the rows `keep` stay and decode once more. After every
 * step each row's logits must be the uncached model's on its whole sequence. Returns the final cache.
 */
export function expectContinuousBatching(
  model: TransformerModel,
  cache: KVCache,
  prompts: number[][],
  keep: [number, number],
): KVCache {
  const expectUncached = (rows: Float32Array[], seqs: number[][]): void =>
    rows.forEach((r, i) => expect(maxAbsDiff(r, uncachedLogits(model, seqs[i]))).toBeLessThan(1e-4));
  const seqs = [
    [...prompts[0], 3],
    [...prompts[1], 4],
  ];
  expectUncached(decodeStep(model, cache, [3, 4]), seqs);
  let batch = KVCache.merge([cache, prefill(model, prompts[2]).cache]);
  seqs.push([...prompts[2], 8]);
  seqs[0].push(5);
  seqs[1].push(6);
  expectUncached(decodeStep(model, batch, [5, 6, 8]), seqs);
  batch = batch.select(keep);
  expectUncached(decodeStep(model, batch, [11, 12]), [
    [...seqs[keep[0]], 11],
    [...seqs[keep[1]], 12],
  ]);
  return batch;
}
