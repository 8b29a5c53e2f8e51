import * as tf from '@tensorflow/tfjs-core';

import { LORA_TARGETS, setupBackend, TransformerModel } from '@tracetune/model';

import { algorithm, tinyByteConfig } from '../../test/helpers';
import { trainableVariables } from './policy';
import { buildMicroBatches, microBatchLoss, rlConfigFor, type Rollout } from './rl';
import { sftLoss } from './sft';

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

type Objective = 'grpo_lambda' | 'grpo_lambda_lora' | 'sft';

/** The loss of one step of `objective` on a fixed batch (inside the gradient closure). */
function lossOf(model: TransformerModel, objective: Objective): () => tf.Scalar {
  if (objective === 'sft') {
    const examples = rollouts().map((r) => {
      const seq = [...r.prompt, ...r.tokens];
      const lossMask = seq.slice(1).map((_, t): number => (t + 1 >= r.prompt.length ? 1 : 0));
      return { input: seq.slice(0, -1), target: seq.slice(1), lossMask };
    });
    const tokens = examples.reduce((n, e) => n + e.lossMask.reduce((a, b) => a + b, 0), 0);
    return () => sftLoss(model, examples, tokens);
  }
  const config = rlConfigFor(algorithm({ name: 'grpo_lambda', lambda: 0.9, trace_style: 'both' }), {
    compute_multiplier: 1,
  });
  const [micro] = buildMicroBatches(rollouts(), 2);
  return () => microBatchLoss(model, micro, config).result.loss;
}

async function stepGradients(
  backend: 'cpu' | 'webgpu',
  objective: Objective,
): Promise<Map<string, Float32Array>> {
  const report = await setupBackend(backend);
  expect(report.backend).toBe(backend);
  const model = TransformerModel.random(tinyByteConfig(), 7);
  if (objective === 'grpo_lambda_lora') {
    model.addLora({ rank: 4, alpha: 8, dropout: 0, targets: [...LORA_TARGETS] }, 3);
    // B starts at zero (no gradient reaches A): give it values so that every adapter weight has a gradient.
    for (const [name, v] of model.loraWeights())
      if (name.endsWith('lora_B')) v.assign(tf.randomUniform(v.shape, -0.1, 0.1, 'float32', 5));
  }
  const vars = trainableVariables(model);
  const { value, grads } = tf.variableGrads(
    lossOf(model, objective),
    vars.map((v) => v.variable),
  );
  value.dispose();
  const out = new Map<string, Float32Array>();
  for (const { name, variable } of vars) out.set(name, (await grads[variable.name].data()) as Float32Array);
  tf.dispose(grads);
  model.dispose();
  return out;
}

describe('training steps on webgpu', () => {
  afterAll(() => setupBackend('cpu'));

  it.each([
    ['a GRPO-λ step (full fine-tuning)', 'grpo_lambda'],
    ['a GRPO-λ step with LoRA adapters', 'grpo_lambda_lora'],
    ['an SFT step', 'sft'],
  ] as const)(
    "should give %s the cpu backend's gradients for every trainable weight",
    async (_, objective) => {
      const cpu = await stepGradients('cpu', objective);
      const gpu = await stepGradients('webgpu', objective);
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
    },
  );
});
