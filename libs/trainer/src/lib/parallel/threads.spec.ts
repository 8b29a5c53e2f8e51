import { existsSync } from 'node:fs';
import { join } from 'node:path';

import { loadCheckpoint } from '@tracetune/model';

import {
  algorithm,
  deterministic,
  rlSpec,
  tempDir,
  useBackend,
  writeJsonl,
  writeTinyModel,
} from '../../../test/helpers';
import { TrainingError, type SampleCompletion, type StepMetrics, type TrainingRunSpec } from '../contract';
import { parseJsonl, toRlExamples } from '../data';
import { loadBaseModel, trainableVariables } from '../policy';
import { localSampler, threadSampler } from '../rl';
import { runTraining } from '../run-training';
import { generateArithmetic, toJsonl } from '../tasks';
import { TrainerPool } from './pool';

jest.setTimeout(180_000);

interface Run {
  steps: StepMetrics[];
  samples: SampleCompletion[][];
  modelDir: string | null;
}

async function train(
  spec: TrainingRunSpec,
  threads: number,
  root = tempDir(`threads-${threads}`),
): Promise<Run> {
  const steps: StepMetrics[] = [];
  const samples: SampleCompletion[][] = [];
  const outcome = await runTraining(spec, {
    checkpointRoot: root,
    threads,
    callbacks: { onStep: (_s, _t, m) => void steps.push(m), onSamples: (_s, s) => void samples.push(s) },
  });
  return { steps, samples, modelDir: outcome.modelDir };
}

/** The largest absolute difference between two saved models' tensors. */
function weightDistance(a: string, b: string): number {
  const x = loadCheckpoint(a).model;
  const y = loadCheckpoint(b).model;
  let max = 0;
  for (const [name, v] of x.namedWeights()) {
    const p = v.dataSync();
    const q = y.weight(name).dataSync();
    for (let i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
  }
  x.dispose();
  y.dispose();
  return max;
}

const ROLLOUT_METRICS = [
  'reward',
  'reward_std',
  'rewards/digits/mean',
  'frac_reward_zero_std',
  'accuracy',
  'completions/mean_length',
  'completions/max_length',
  'completions/clipped_ratio',
  'sampled_tokens',
  'trained_tokens',
  'eval_accuracy',
  'eval_reward',
  'eval_sampled_accuracy',
  'eval_pass_at_k',
];

describe('training threads', () => {
  let modelDir: string;
  beforeAll(async () => {
    await useBackend('wasm');
    modelDir = writeTinyModel(1);
  });

  it('should sample the same completions on 3 threads as on this one (randomness belongs to the group)', async () => {
    const spec = rlSpec(modelDir);
    const { model, tokenizer } = loadBaseModel(spec.baseModel, spec.seed);
    const trainables = trainableVariables(model);
    const pool = await TrainerPool.start(3, trainables, {
      baseModel: spec.baseModel,
      seed: spec.seed,
      lora: null,
      reference: false,
      config: null,
    });
    try {
      const lines = parseJsonl(
        toJsonl(generateArithmetic({ n: 5, seed: 4, difficulty: 'short' }), 'rft'),
        'reinforcement',
        'data',
      );
      const examples = toRlExamples(lines, tokenizer);
      const settings = { groupSize: 4, maxNewTokens: 12, temperature: 1, topP: 0.9, seed: 11 };
      const local = await localSampler(model, tokenizer)(examples, settings);
      const spread = await threadSampler(pool)(examples, settings);
      expect(spread).toEqual(local);
      expect(new Set(local.map((r) => r.text)).size).toBeGreaterThan(5);
    } finally {
      await pool.dispose();
      model.dispose();
    }
  });

  it('should give one GRPO-λ step the same completions, rewards and metrics on 1 and 3 threads, weights within 1e-5', async () => {
    const spec = rlSpec(modelDir, {
      // 3 prompts in one micro-batch: each thread gets one group; β > 0 spreads the reference pass too.
      algorithm: algorithm({ beta: 0.04, micro_batch_size: 3 }),
      hyperparameters: { ...rlSpec(modelDir).hyperparameters, batch_size: 3, eval_interval: 1 },
      trainer: { baseLearningRate: 1e-2, maxSteps: 1 },
    });
    expect(spec.algorithm?.name).toBe('grpo_lambda');
    const one = await train(spec, 1);
    const three = await train(spec, 3);
    expect(three.samples).toEqual(one.samples);
    for (const name of ROLLOUT_METRICS)
      expect([name, three.steps[0][name]]).toEqual([name, one.steps[0][name]]);
    const a = deterministic(one.steps[0]);
    const b = deterministic(three.steps[0]);
    expect(Object.keys(b).sort()).toEqual(Object.keys(a).sort());
    for (const [k, v] of Object.entries(a)) expect([k, b[k]]).toEqual([k, expect.closeTo(v, 5)]);
    expect(weightDistance(one.modelDir as string, three.modelDir as string)).toBeLessThan(1e-5);
  });

  it('should give one SFT step the same loss on 1 and 3 threads, weights within 1e-5', async () => {
    const problems = generateArithmetic({ n: 6, seed: 2, difficulty: 'short' });
    const spec: TrainingRunSpec = {
      method: 'supervised',
      baseModel: { kind: 'directory', path: modelDir },
      trainingFile: writeJsonl(toJsonl(problems, 'sft')),
      validationFile: writeJsonl(toJsonl(problems.slice(0, 4), 'sft')),
      hyperparameters: {
        n_epochs: 1,
        batch_size: 6,
        learning_rate_multiplier: 1,
        eval_interval: 1,
        eval_samples: 0,
        compute_multiplier: 1,
      },
      seed: 1,
      checkpointInterval: 0,
      sampleInterval: 0,
      passThreshold: 1,
      trainer: { baseLearningRate: 1e-2, sftMicroBatchSize: 4 },
    };
    const one = await train(spec, 1);
    const three = await train(spec, 3);
    for (const k of ['loss', 'grad_norm', 'eval_loss', 'trained_tokens', 'loss_tokens'])
      expect([k, three.steps[0][k]]).toEqual([k, expect.closeTo(one.steps[0][k], 5)]);
    expect(weightDistance(one.modelDir as string, three.modelDir as string)).toBeLessThan(1e-5);
  });

  it('should resume exactly on 2 threads after the run died mid-job', async () => {
    const spec = rlSpec(modelDir, {
      checkpointInterval: 1,
      trainer: { baseLearningRate: 1e-2, maxSteps: 3 },
    });
    const full = await train(spec, 2);
    const root = tempDir('threads-killed');
    const killed = await runTraining(spec, {
      checkpointRoot: root,
      threads: 2,
      callbacks: {
        onCheckpoint: (c) => {
          if (c.step === 2) throw new Error('killed');
        },
      },
    }).catch((e: unknown) => e);
    expect((killed as Error).message).toBe('killed');
    expect(existsSync(join(root, 'step-2', 'trainer_state.json'))).toBe(true);
    const steps: StepMetrics[] = [];
    const resumed = await runTraining(spec, {
      checkpointRoot: tempDir('threads-resumed'),
      resumeFrom: join(root, 'step-2'),
      threads: 2,
      callbacks: { onStep: (_s, _t, m) => void steps.push(m) },
    });
    expect(resumed.step).toBe(3);
    expect(steps).toHaveLength(1);
    for (const [k, v] of Object.entries(deterministic(full.steps[2])))
      expect([k, steps[0][k]]).toEqual([k, expect.closeTo(v, 6)]);
    expect(weightDistance(full.modelDir as string, resumed.modelDir as string)).toBe(0);
  });

  it('should fail the work in flight with thread_failed when a thread dies, and every later call at once', async () => {
    const spec = rlSpec(modelDir);
    const { model, tokenizer } = loadBaseModel(spec.baseModel, spec.seed);
    const pool = await TrainerPool.start(2, trainableVariables(model), {
      baseModel: spec.baseModel,
      seed: spec.seed,
      lora: null,
      reference: false,
      config: null,
    });
    try {
      const examples = toRlExamples(
        parseJsonl(toJsonl(generateArithmetic({ n: 4, seed: 1 }), 'rft'), 'reinforcement', 'data'),
        tokenizer,
      );
      const settings = { groupSize: 4, maxNewTokens: 32, temperature: 1, topP: 1, seed: 1 };
      const inFlight = threadSampler(pool)(examples, settings).catch((e: unknown) => e);
      await pool.workers[1].terminate();
      const error = (await inFlight) as TrainingError;
      expect(error).toBeInstanceOf(TrainingError);
      expect(error.code).toBe('thread_failed');
      expect(error.message).toMatch(/Training thread 1 exited/);
      await expect(threadSampler(pool)(examples, settings)).rejects.toThrow(/Training thread 1/);
    } finally {
      await pool.dispose();
      model.dispose();
    }
  });
});
