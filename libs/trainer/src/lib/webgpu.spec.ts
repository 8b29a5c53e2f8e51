import * as tf from '@tensorflow/tfjs-core';

import { setupBackend, TransformerModel } from '@tracetune/model';

import { algorithm, tinyByteConfig } from '../../test/helpers';
import { trainableVariables } from './policy';
import { buildMicroBatches, microBatchLoss, rlConfigFor, type Rollout } from './rl';

// One GRPO-λ step's gradients on the webgpu backend (Dawn over Vulkan: lavapipe in CI, see
// tools/scripts/ensure-lavapipe.sh) against the cpu backend's, same weights, same batch. Never skipped.
jest.setTimeout(120_000);

/** Two groups of four completions with spread rewards and old log-probs off the current policy (ratios ≠ 1). */
function rollouts(): Rollout[] {
  const prompts = [
    [256, 50, 43, 51, 61],
    [256, 52, 42, 55, 61, 32],
  ];
  const completions = [
    [49, 50, 257],
    [51, 257],
    [57, 56, 55, 54],
    [48],
    [53, 257],
    [55, 54, 53],
    [50, 48, 257],
    [52, 49, 49, 257],
  ];
  const rewards = [1, 0, 0.5, 0, 0, 1, 0.25, 1];
  return completions.map((tokens, i) => ({
    group: i < 4 ? 0 : 1,
    prompt: prompts[i < 4 ? 0 : 1],
    promptText: '',
    tokens,
    logpOld: tokens.map((_, t) => -5.5 + 0.1 * ((i + t) % 3)),
    text: '',
    clipped: false,
    graded: { reward: rewards[i], subScores: {}, error: false },
  }));
}

async function stepGradients(backend: 'cpu' | 'webgpu'): Promise<Map<string, Float32Array>> {
  const report = await setupBackend(backend);
  expect(report.backend).toBe(backend);
  const model = TransformerModel.random(tinyByteConfig(), 7);
  const config = rlConfigFor(algorithm({ name: 'grpo_lambda', lambda: 0.9, trace_style: 'both' }), {
    compute_multiplier: 1,
  });
  const [micro] = buildMicroBatches(rollouts(), 2);
  const vars = trainableVariables(model);
  const { value, grads } = tf.variableGrads(
    () => microBatchLoss(model, micro, config).result.loss,
    vars.map((v) => v.variable),
  );
  value.dispose();
  const out = new Map<string, Float32Array>();
  for (const { name, variable } of vars) out.set(name, (await grads[variable.name].data()) as Float32Array);
  tf.dispose(grads);
  model.dispose();
  return out;
}

describe('a GRPO-λ step on webgpu', () => {
  afterAll(() => setupBackend('cpu'));

  it("should give the cpu backend's gradients for every weight", async () => {
    const cpu = await stepGradients('cpu');
    const gpu = await stepGradients('webgpu');
    let largest = 0;
    for (const [name, expected] of cpu) {
      const got = gpu.get(name) as Float32Array;
      expect(got.length).toBe(expected.length);
      let diff = 0;
      for (let i = 0; i < got.length; i++) {
        diff = Math.max(diff, Math.abs(got[i] - expected[i]));
        largest = Math.max(largest, Math.abs(expected[i]));
      }
      // float32 on both; summation orders differ. Relative to the largest gradient entry of the step.
      expect({ name, diff: diff <= 1e-3 * Math.max(largest, 1e-3) }).toEqual({ name, diff: true });
    }
    expect(largest).toBeGreaterThan(1e-4); // the step has a gradient to compare
  });
});
