import { join } from 'node:path';

import { builtinConfig, loadCheckpoint, TransformerModel } from '@tracetune/model';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { algorithm, rlSpec, tempDir, useBackend, writeTinyModel } from '../../test/helpers';
import { readJsonl, toRlExamples } from './data';
import { AdamW } from './optimizer';
import { trainableVariables } from './policy';
import {
  buildMicroBatches,
  evaluateObjective,
  optimiseRl,
  rlConfigFor,
  sampleGroups,
  type Rollout,
} from './rl';
import { runTraining } from './run-training';
import { completionLogProbs } from './sequences';

jest.setTimeout(90_000);

describe('the RL update', () => {
  beforeAll(() => useBackend('wasm'));

  it('should decrease the objective on its own batch after one step (tt-nano)', async () => {
    const model = TransformerModel.random(builtinConfig('tt-nano'), 11);
    const tokenizer = new ByteTokenizer();
    const spec = rlSpec('unused');
    const examples = toRlExamples(
      await readJsonl(spec.trainingFile, 'reinforcement', 'training_file'),
      tokenizer,
    ).slice(0, 2);
    const sampled = sampleGroups(model, tokenizer, examples, {
      groupSize: 4,
      maxNewTokens: 12,
      temperature: 1,
      topP: 1,
      seed: 5,
    });
    // Fixed rewards with spread inside each group, so that every advantage is non-zero.
    const rollouts: Rollout[] = sampled.map((r, i) => ({
      ...r,
      graded: { reward: [1, 0, 0.5, 0][i % 4], subScores: {}, error: false },
    }));
    const micros = buildMicroBatches(rollouts, 1);
    const config = rlConfigFor(algorithm({ num_generations: 4, max_completion_tokens: 12 }), {
      compute_multiplier: 1,
    });
    const before = await evaluateObjective(model, micros, config);
    const trainables = trainableVariables(model);
    const optimizer = new AdamW(trainables, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    const result = await optimiseRl(
      {
        model,
        trainables,
        names: new Map(trainables.map((t) => [t.variable.name, t.name])),
        optimizer,
        config,
        ppoEpochs: 1,
        maxGradNorm: 1,
        temperature: 1,
        learningRate: () => 3e-4,
        control: () => 'continue',
        step: 1,
      },
      micros,
    );
    const after = await evaluateObjective(model, micros, config);
    expect(result.status).toBe('done');
    // The clipped objective of this batch goes down (the loss is its negative).
    expect(after).toBeLessThan(before - 1e-4);
    optimizer.dispose();
    model.dispose();
  });

  it('should score completions under the sampling temperature, as the sampler reported them', async () => {
    const model = TransformerModel.random(builtinConfig('tt-nano'), 3);
    const tokenizer = new ByteTokenizer();
    const examples = toRlExamples(
      await readJsonl(rlSpec('unused').trainingFile, 'reinforcement', 'training_file'),
      tokenizer,
    ).slice(0, 1);
    const temperature = 0.5;
    const [rollout] = sampleGroups(model, tokenizer, examples, {
      groupSize: 2,
      maxNewTokens: 10,
      temperature,
      topP: 1,
      seed: 9,
    });
    const [mb] = buildMicroBatches([{ ...rollout, graded: { reward: 0, subScores: {}, error: false } }], 1);
    const row = (t: number | undefined): number[] => {
      const logp = completionLogProbs(model, mb.packed, { temperature: t });
      const out = (logp.logProbs.arraySync() as number[][])[0].slice(0, rollout.tokens.length);
      logp.logProbs.dispose();
      return out;
    };
    // The old-policy log-probs are the ones the trainer computes at the same temperature: the ratio starts at 1…
    row(temperature).forEach((x, i) => expect(x).toBeCloseTo(rollout.logpOld[i], 3));
    // …and they are the tempered distribution's, not the raw model's.
    const raw = row(undefined);
    const gap = raw.reduce((m, x, i) => Math.max(m, Math.abs(x - rollout.logpOld[i])), 0);
    expect(gap).toBeGreaterThan(1e-2);
    model.dispose();
  });

  it('should give GRPO-λ with λ = 0 and recent traces the same update as GRPO (same seed)', async () => {
    const modelDir = writeTinyModel(2);
    const finalWeights = async (alg: ReturnType<typeof algorithm>): Promise<Map<string, Float32Array>> => {
      const root = tempDir('eq');
      await runTraining(
        rlSpec(modelDir, {
          algorithm: alg,
          hyperparameters: { ...rlSpec(modelDir).hyperparameters, n_epochs: 0.25 },
        }),
        {
          checkpointRoot: root,
        },
      );
      const { model } = loadCheckpoint(join(root, 'final'));
      const out = new Map(
        [...model.namedWeights()].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]),
      );
      model.dispose();
      return out;
    };
    const common = { advantage_clamp_min: null, micro_batch_size: 1 };
    const grpo = await finalWeights(algorithm({ ...common, name: 'grpo' }));
    const lambda0 = await finalWeights(
      algorithm({ ...common, name: 'grpo_lambda', lambda: 0, trace_style: 'recent' }),
    );
    const base = loadCheckpoint(modelDir).model;
    let maxDiff = 0;
    let moved = 0;
    for (const [name, w] of grpo) {
      const other = lambda0.get(name) as Float32Array;
      const original = base.weight(name).dataSync();
      for (let i = 0; i < w.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(w[i] - other[i]));
        moved = Math.max(moved, Math.abs(w[i] - original[i]));
      }
    }
    base.dispose();
    expect(moved).toBeGreaterThan(1e-4); // the step did change the weights…
    expect(maxDiff).toBeLessThan(1e-6); // …identically for both estimators
  });
});
