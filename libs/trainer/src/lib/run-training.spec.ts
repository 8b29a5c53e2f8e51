import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { loadCheckpoint } from '@tracetune/model';

import {
  algorithm,
  deterministic,
  rlSpec,
  tempDir,
  useBackend,
  writeJsonl,
  writeTinyModel,
} from '../../test/helpers';
import { TrainingError, type SampleCompletion, type StepMetrics, type TrainingRunSpec } from './contract';
import { runTraining } from './run-training';
import { generateChain, toJsonl } from './tasks';

jest.setTimeout(60_000);

async function collect(
  spec: TrainingRunSpec,
  root: string,
  options: { resumeFrom?: string; stopAfter?: number; signal?: 'pause' | 'cancel' } = {},
) {
  const steps: StepMetrics[] = [];
  let completed = 0;
  const outcome = await runTraining(spec, {
    checkpointRoot: root,
    resumeFrom: options.resumeFrom ?? null,
    callbacks: {
      onStep: (_step, _total, metrics) => {
        steps.push(metrics);
        completed++;
      },
      control: () =>
        options.stopAfter !== undefined && completed >= options.stopAfter
          ? (options.signal ?? 'pause')
          : 'continue',
    },
  });
  return { outcome, steps };
}

/** 2 prompts × 4 completions, each with A and Ã; the first group's completions carry per-token credit Ã × W. */
function expectWholeGroupsWithCredit(samples: SampleCompletion[]): void {
  expect(samples.map((x) => x.group)).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  for (const g of [0, 1]) {
    const group = samples.filter((x) => x.group === g);
    // A is centred within its group; the clamp only raises it (Ã ≥ A).
    expect(Math.abs(group.reduce((a, x) => a + (x.advantage_raw as number), 0))).toBeLessThan(1e-3);
    for (const x of group) expect(x.advantage as number).toBeGreaterThanOrEqual(x.advantage_raw as number);
  }
  const detailed = samples.filter((x) => x.tokens);
  expect(detailed.map((x) => x.group)).toEqual([0, 0, 0, 0]);
  for (const x of detailed) {
    const t = x.tokens as NonNullable<SampleCompletion['tokens']>;
    expect(t.text.join('')).toBe(x.completion);
    expect(t.logprob.every((v) => v <= 0)).toBe(true);
    expect(t.clip).toHaveLength(t.text.length);
    t.credit.forEach((c, k) => expect(c).toBeCloseTo((x.advantage as number) * t.weight[k], 3));
  }
}

describe('runTraining (reinforcement)', () => {
  let modelDir: string;
  beforeAll(async () => {
    await useBackend('wasm');
    modelDir = writeTinyModel(1);
  });

  it('should run every step, emit the OpenAI metric names, write the final model and leak no tensors across steps', async () => {
    const live: number[] = [];
    const root = tempDir('run');
    const samples: number[] = [];
    const totalsSeen: StepMetrics[] = [];
    const outcome = await runTraining(
      rlSpec(modelDir, { hyperparameters: { ...rlSpec(modelDir).hyperparameters, eval_interval: 2 } }),
      {
        checkpointRoot: root,
        callbacks: {
          onStep: (step, total, m) => {
            live.push(tf.memory().numTensors);
            totalsSeen.push(m);
            expect(total).toBe(4);
            for (const name of [
              'reward',
              'reward_std',
              'rewards/digits/mean',
              'frac_reward_zero_std',
              'accuracy',
              'completions/mean_length',
              'completions/clipped_ratio',
              'kl',
              'entropy',
              'policy_loss',
              'grad_norm',
              'grad_clipped',
              'clip_ratio',
              'learning_rate',
              'tokens_per_second',
              'step_time',
              'grader_errors',
            ]) {
              expect(Number.isFinite(m[name])).toBe(true);
            }
            if (step % 2 === 0) expect(m['eval_accuracy']).toBeGreaterThanOrEqual(0);
            if (step % 2 === 0)
              expect(m['eval_pass_at_k']).toBeGreaterThanOrEqual(m['eval_sampled_accuracy']);
          },
          onSamples: (step, s) => {
            samples.push(step);
            expectWholeGroupsWithCredit(s);
          },
        },
      },
    );
    expect(outcome.status).toBe('succeeded');
    expect(outcome.step).toBe(4);
    expect(outcome.trainedTokens).toBeGreaterThan(0);
    expect(samples).toEqual([1, 2, 3, 4]);
    const totals = totalsSeen.map((m) => m['sampled_tokens_total']);
    expect(totals[0]).toBe(totalsSeen[0]['sampled_tokens']);
    for (let i = 1; i < totals.length; i++)
      expect(totals[i]).toBe(totals[i - 1] + totalsSeen[i]['sampled_tokens']);
    expect(outcome.modelDir).toBe(join(root, 'final'));
    const loaded = loadCheckpoint(outcome.modelDir as string);
    loaded.model.dispose();
    expect(existsSync(join(root, 'step-4', 'trainer_state.json'))).toBe(true);
    // Steps 2 and 4 both evaluate; the count of live tensors must not grow between them.
    expect(live[3]).toBe(live[1]);
  });

  it('should log where chain completions first go wrong and whether the update was clipped', async () => {
    const chains = generateChain({ n: 4, seed: 2, variant: 'hard_last' });
    const oneStep = async (maxGradNorm: number): Promise<Record<string, number>> => {
      const spec = rlSpec(modelDir, {
        trainingFile: writeJsonl(toJsonl(chains, 'rft')),
        validationFile: undefined,
        algorithm: algorithm({ max_grad_norm: maxGradNorm, max_completion_tokens: 8 }),
        trainer: { baseLearningRate: 1e-2, maxSteps: 1 },
      });
      return (await collect(spec, tempDir('chain'))).steps[0];
    };
    const clipped = await oneStep(1e-9);
    expect(clipped['grad_clipped']).toBe(1);
    // A random model's 8 tokens never finish the first step line.
    expect(clipped['chain/first_error_line']).toBe(1);
    expect(clipped['chain/correct_prefix']).toBe(0);
    expect((await oneStep(1e9))['grad_clipped']).toBe(0);
  });

  it('should resume exactly: a run paused after step 2 and resumed gives the same metrics at step 3', async () => {
    const spec = rlSpec(modelDir, {
      trainer: { baseLearningRate: 1e-2, lrSchedule: 'cosine', warmupRatio: 0.25 },
    });
    const full = await collect(spec, tempDir('full'));
    const root = tempDir('paused');
    const first = await collect(spec, root, { stopAfter: 2 });
    expect(first.outcome.status).toBe('paused');
    expect(first.outcome.step).toBe(2);
    expect(first.outcome.modelDir).toBe(join(root, 'step-2'));
    const resumed = await collect(spec, tempDir('resumed'), { resumeFrom: first.outcome.modelDir as string });
    expect(resumed.outcome.status).toBe('succeeded');
    expect(resumed.steps).toHaveLength(2);
    const expected = deterministic(full.steps[2]);
    const got = deterministic(resumed.steps[0]);
    expect(Object.keys(got).sort()).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expect(got[k]).toBeCloseTo(v, 6);
    expect(resumed.outcome.finalMetrics['reward']).toBeCloseTo(full.outcome.finalMetrics['reward'], 6);
  });

  it('should resume a LoRA run exactly from its unmerged adapters', async () => {
    const spec = rlSpec(modelDir, {
      lora: { rank: 2, alpha: 4, dropout: 0, target_modules: ['q_proj', 'v_proj'] },
      hyperparameters: { ...rlSpec(modelDir).hyperparameters, n_epochs: 1.5 },
    });
    const full = await collect(spec, tempDir('lora-full'));
    const first = await collect(spec, tempDir('lora-paused'), { stopAfter: 1 });
    const dir = first.outcome.modelDir as string;
    expect(existsSync(join(dir, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'adapter', 'adapter_config.json'))).toBe(true);
    expect(existsSync(join(dir, 'adapter_model.safetensors'))).toBe(false); // only the PEFT folder
    const resumed = await collect(spec, tempDir('lora-resumed'), {
      resumeFrom: first.outcome.modelDir as string,
    });
    for (const [k, v] of Object.entries(deterministic(full.steps[1])))
      expect(resumed.steps[0][k]).toBeCloseTo(v, 6);
  });

  it('should stop within a step when control says cancel after the first micro-batch', async () => {
    let calls = 0;
    let steps = 0;
    const outcome = await runTraining(rlSpec(modelDir), {
      checkpointRoot: tempDir('cancel'),
      callbacks: {
        onStep: () => void steps++,
        // 1st call: before step 1; 2nd: before micro-batch 1; 3rd: before micro-batch 2 → cancel.
        control: () => (++calls >= 3 ? 'cancel' : 'continue'),
      },
    });
    expect(outcome.status).toBe('cancelled');
    expect(outcome.step).toBe(0);
    expect(steps).toBe(0);
    expect(calls).toBe(3);
    expect(outcome.modelDir).toBeNull();
  });

  it('should write a resumable checkpoint when paused between steps', async () => {
    const root = tempDir('pause');
    const { outcome } = await collect(rlSpec(modelDir), root, { stopAfter: 1 });
    expect(outcome.status).toBe('paused');
    expect(outcome.step).toBe(1);
    const state = JSON.parse(readFileSync(join(root, 'step-1', 'trainer_state.json'), 'utf8'));
    expect(state).toMatchObject({ step: 1, dataCursor: 2, seed: 7 });
    expect(existsSync(join(root, 'step-1', 'optimizer.safetensors'))).toBe(true);
    expect(existsSync(join(root, 'step-1', 'model.safetensors'))).toBe(true);
  });

  it('should pause inside a step before any update, checkpointing the last completed step', async () => {
    let calls = 0;
    const root = tempDir('pause-mid');
    const outcome = await runTraining(rlSpec(modelDir), {
      checkpointRoot: root,
      // 1st call: before step 1; 2nd: before its first micro-batch → pause (no update applied yet).
      callbacks: { control: () => (++calls >= 2 ? 'pause' : 'continue') },
    });
    expect(outcome).toMatchObject({ status: 'paused', step: 0, modelDir: join(root, 'step-0') });
    expect(JSON.parse(readFileSync(join(root, 'step-0', 'trainer_state.json'), 'utf8'))).toMatchObject({
      step: 0,
      dataCursor: 0,
      optimizerStep: 0,
    });
  });

  it('should count grader errors without failing the run', async () => {
    const spec = rlSpec(modelDir, {
      grader: {
        type: 'javascript',
        name: 'flaky',
        source:
          'function grade(sample) { if (sample.output_text.length % 2 === 0) throw new Error("boom"); return 1; }',
      },
      hyperparameters: { ...rlSpec(modelDir).hyperparameters, n_epochs: 0.5 },
    });
    const { outcome, steps } = await collect(spec, tempDir('flaky'));
    expect(outcome.status).toBe('succeeded');
    expect(steps[0]['grader_errors']).toBeGreaterThan(0);
    expect(steps[0]['grader_errors']).toBeLessThanOrEqual(8);
  });

  describe('with a grader that never returns (60 s per sample)', () => {
    const slow = () =>
      rlSpec(modelDir, {
        grader: {
          type: 'javascript',
          name: 'slow',
          source: 'function grade() { for (;;) {} }',
          timeout_ms: 60_000,
        },
      });
    /** Control that turns to `signal` a moment after the first step has started (its grading is under way). */
    const soon = (signal: 'cancel' | 'pause') => {
      let since = 0;
      return () => {
        since ||= Date.now();
        return Date.now() - since > 1500 ? signal : 'continue';
      };
    };

    // Without the kill each step would wait for 8 samples × 60 s: these end only because grading is aborted.
    it('should be cancelled while grading, the graders killed rather than awaited', async () => {
      const outcome = await runTraining(slow(), {
        checkpointRoot: tempDir('slow-cancel'),
        callbacks: { control: soon('cancel') },
      });
      expect(outcome).toMatchObject({ status: 'cancelled', step: 0, modelDir: null });
    });

    it('should pause while grading, checkpointing the last completed step', async () => {
      const root = tempDir('slow-pause');
      const outcome = await runTraining(slow(), {
        checkpointRoot: root,
        callbacks: { control: soon('pause') },
      });
      expect(outcome).toMatchObject({ status: 'paused', step: 0, modelDir: join(root, 'step-0') });
    });
  });

  it('should throw non_finite_loss naming the step when the weights are poisoned', async () => {
    const spec = rlSpec(writeTinyModel(1, true));
    const error = await runTraining(spec, { checkpointRoot: tempDir('nan') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TrainingError);
    expect((error as TrainingError).code).toBe('non_finite_loss');
    expect((error as TrainingError).message).toMatch(/step 1\b/);
    expect((error as TrainingError).step).toBe(1);
  });

  it('should throw non_finite_loss naming step 2 when an infinite learning rate blows up step 1', async () => {
    const error = await runTraining(
      rlSpec(modelDir, { trainer: { baseLearningRate: Number.POSITIVE_INFINITY } }),
      {
        checkpointRoot: tempDir('inf'),
      },
    ).catch((e: unknown) => e);
    expect((error as TrainingError).code).toBe('non_finite_loss');
    expect((error as TrainingError).step).toBe(2);
    expect((error as TrainingError).message).toMatch(/step 2\b/);
  });

  it('should report a bad training line by number as invalid_training_data', async () => {
    const spec = rlSpec(modelDir);
    const bad = writeJsonl(readFileSync(spec.trainingFile, 'utf8') + '{"messages": 3}\n');
    const error = await runTraining({ ...spec, trainingFile: bad }, { checkpointRoot: tempDir('bad') }).catch(
      (e: unknown) => e,
    );
    expect((error as TrainingError).code).toBe('invalid_training_data');
    expect((error as TrainingError).message).toMatch(/line 9/);
  });

  it('should fail with model_load_failed for a missing model directory', async () => {
    const error = await runTraining(rlSpec('/nonexistent/model'), {
      checkpointRoot: tempDir('missing'),
    }).catch((e: unknown) => e);
    expect((error as TrainingError).code).toBe('model_load_failed');
  });

  it('should hold no reference model when beta is 0 and use one when beta > 0', async () => {
    const { steps } = await collect(
      rlSpec(modelDir, {
        algorithm: algorithm({ beta: 0.04 }),
        hyperparameters: { ...rlSpec(modelDir).hyperparameters, n_epochs: 0.5 },
      }),
      tempDir('kl'),
    );
    expect(steps[0]['time/reference']).toBeGreaterThan(0);
    expect(steps[0]['kl']).toBeGreaterThanOrEqual(0);
    const noRef = await collect(
      rlSpec(modelDir, { hyperparameters: { ...rlSpec(modelDir).hyperparameters, n_epochs: 0.5 } }),
      tempDir('nokl'),
    );
    expect(noRef.steps[0]['throughput/reference_tokens_per_second']).toBe(0);
  });
});
