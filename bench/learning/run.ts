/** The benchmark's two phases: the SFT warm-up and one RL run (one arm, one seed) from it. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { resolveAlgorithm, resolveHyperparameters, resolveLora } from '@tracetune/contracts';
import {
  evaluateModelDir,
  generateArithmetic,
  mathAnswerGrader,
  readTrainerState,
  runTraining,
  toJsonl,
  type StepMetrics,
  type TrainingRunSpec,
} from '@tracetune/trainer';

import { rlCommon, TASK, type Arm, type BenchConfig } from './config';
import type { BaseEval, RunResult } from './results';
import { mean } from './stats';

export const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** Writes JSONL to `dir/name` (the trainer reads data files, never strings) and returns its path. */
function dataFile(dir: string, name: string, jsonl: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, jsonl);
  return path;
}

/** SFT of tt-nano from random init on the task's worked solutions; returns the final model directory. */
export async function warmUp(steps: number, work: string): Promise<string> {
  const sft = generateArithmetic({ n: 4000, seed: 11, ...TASK });
  const root = join(work, 'warmup');
  rmSync(root, { recursive: true, force: true });
  const spec: TrainingRunSpec = {
    method: 'supervised',
    baseModel: { kind: 'builtin', name: 'tt-nano' },
    trainingFile: dataFile(join(root, 'data'), 'sft.jsonl', toJsonl(sft, 'sft')),
    hyperparameters: resolveHyperparameters('supervised', { batch_size: 16, n_epochs: 10 }, sft.length),
    seed: 0,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    // SFT from random init: a larger LR than the tiny-model default (3e-4) to get somewhere in a few hundred steps.
    trainer: { maxSteps: steps, baseLearningRate: 2e-3, sftMicroBatchSize: 16, warmupRatio: 0.05 },
  };
  const t0 = Date.now();
  const outcome = await runTraining(spec, {
    checkpointRoot: root,
    callbacks: {
      onStep: (step, total, m) => {
        if (step % 25 === 0 || step === total)
          log(
            `  warm-up step ${step}/${total} loss ${m['loss'].toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
          );
      },
    },
  });
  return outcome.modelDir as string;
}

/** SFT steps of a warm-up checkpoint written by {@link warmUp} (its trainer state). */
export function warmupStepsOf(dir: string): number {
  const state = readTrainerState(dir);
  if (state.method !== 'supervised') throw new Error(`${dir} is not an SFT warm-up (method ${state.method})`);
  return state.step;
}

const TRAIN_EXAMPLES = 2000;
export const trainSet = (): string =>
  toJsonl(generateArithmetic({ n: TRAIN_EXAMPLES, seed: 21, ...TASK }), 'rft');
export const heldOutSet = (n: number): string => toJsonl(generateArithmetic({ n, seed: 99, ...TASK }), 'rft');

/** Greedy held-out accuracy of the warm-up (step 0 of every curve). */
export async function evaluateBase(
  warmupDir: string,
  heldOut: string,
  config: BenchConfig,
): Promise<BaseEval> {
  const m = await evaluateModelDir(warmupDir, heldOut, mathAnswerGrader(), {
    samples: 0,
    maxCompletionTokens: config.maxCompletionTokens,
    temperature: 1,
    topP: 1,
    passThreshold: 1,
    seed: 0,
  });
  return { accuracy: m['eval_accuracy'], meanLength: m['eval_completions/mean_length'] };
}

export async function runArm(
  config: BenchConfig,
  warmupDir: string,
  arm: Arm,
  seed: number,
  base: BaseEval,
  work: string,
): Promise<RunResult> {
  const root = join(work, `${arm.name}-s${seed}`);
  // Greedy held-out evaluation only (eval_samples 0, below the api's range: the benchmark is not a job).
  const hyperparameters = {
    ...resolveHyperparameters(
      'reinforcement',
      { batch_size: config.promptsPerStep, n_epochs: 100, eval_interval: config.evalEvery },
      TRAIN_EXAMPLES,
    ),
    eval_samples: 0,
  };
  const spec: TrainingRunSpec = {
    method: 'reinforcement',
    baseModel: { kind: 'directory', path: warmupDir },
    trainingFile: dataFile(join(root, 'data'), 'train.jsonl', trainSet()),
    validationFile: dataFile(join(root, 'data'), 'held-out.jsonl', heldOutSet(config.heldOut)),
    grader: mathAnswerGrader(),
    hyperparameters,
    algorithm: resolveAlgorithm({ ...rlCommon(config), ...arm.algorithm }, hyperparameters.batch_size),
    lora: config.loraRank > 0 ? resolveLora({ rank: config.loraRank, alpha: 2 * config.loraRank }) : null,
    seed,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    // Constant LR after an optional linear warm-up, the same in every arm: the arms differ only in the estimator;
    // Adam absorbs the trace weights' global scale. One optimiser update per step (μ = 1): +0.5 keeps floor() exact.
    trainer: {
      maxSteps: config.rlSteps,
      lrSchedule: 'constant',
      warmupRatio: (config.lrWarmupSteps + 0.5) / config.rlSteps,
      baseLearningRate: config.lr,
    },
  };
  const result: RunResult = {
    arm: arm.name,
    seed,
    evalSteps: [0],
    evalAccuracy: [base.accuracy],
    gradNorms: [],
    phase: {},
    rewards: [],
    seconds: 0,
  };
  const phaseSums: Record<string, number[]> = {};
  const t0 = Date.now();
  await runTraining(spec, {
    checkpointRoot: root,
    callbacks: {
      onStep: (step, _total, m: StepMetrics) => {
        result.gradNorms.push(m['grad_norm']);
        result.rewards.push(m['reward']);
        for (const [k, v] of Object.entries(m))
          if (k.startsWith('throughput/') || k.startsWith('time/')) (phaseSums[k] ??= []).push(v);
        if (m['eval_accuracy'] !== undefined) {
          result.evalSteps.push(step);
          result.evalAccuracy.push(m['eval_accuracy']);
          const recent = mean(result.rewards.slice(-config.evalEvery));
          log(
            `    ${arm.name} s${seed} step ${step}: held-out ${m['eval_accuracy'].toFixed(3)}, reward ${recent.toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
          );
        }
      },
    },
  });
  rmSync(root, { recursive: true, force: true });
  result.seconds = (Date.now() - t0) / 1000;
  for (const [k, v] of Object.entries(phaseSums)) result.phase[k] = mean(v);
  log(
    `  ${arm.name} seed ${seed}: held-out acc ${result.evalAccuracy.map((a) => a.toFixed(3)).join(' ')} (${result.seconds.toFixed(0)} s)`,
  );
  return result;
}
