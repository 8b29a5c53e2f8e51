/** The benchmark's two phases: the SFT warm-up and one RL run (one arm, one seed) from it. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { resolveAlgorithm, resolveHyperparameters, resolveLora } from '@tracetune/contracts';
import {
  evaluateModelDir,
  generateChain,
  mathAnswerGrader,
  readTrainerState,
  runTraining,
  toJsonl,
  type ChainVariant,
  type StepMetrics,
  type TrainingRunSpec,
} from '@tracetune/trainer';

import { rlCommon, type Arm, type BenchConfig } from './config';
import type { BaseEval, RunResult } from './results';
import { mean } from './stats';

export const log = (m: string): void => void process.stderr.write(`${m}\n`);

/** Training threads of every run (`--threads`; from the sources only: the device bundle has no thread entry). */
let threads = 1;
export function setTrainingThreads(n: number): void {
  threads = n;
}

/** Writes JSONL to `dir/name` (the trainer reads data files, never strings) and returns its path. */
function dataFile(dir: string, name: string, jsonl: string): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  writeFileSync(path, jsonl);
  return path;
}

/** Seeds of the data sets: disjoint draws of the same generator. */
const DATA_SEEDS = { sft: 11, rl: 21, validation: 98, heldOut: 99 } as const;
const chains = (variant: ChainVariant, n: number, seed: number): string =>
  toJsonl(generateChain({ n, seed, variant }), 'rft');

/** Greedy accuracy (and mean completion length) of a model directory on RFT JSONL. */
async function greedyAccuracy(dir: string, jsonl: string, maxTokens: number): Promise<BaseEval> {
  const m = await evaluateModelDir(dir, jsonl, mathAnswerGrader(), {
    samples: 0,
    maxCompletionTokens: maxTokens,
    temperature: 1,
    topP: 1,
    passThreshold: 1,
    seed: 0,
  });
  return { accuracy: m['eval_accuracy'], meanLength: m['eval_completions/mean_length'] };
}

export interface WarmupOptions {
  variant: ChainVariant;
  model: 'tt-nano' | 'tt-micro';
  /** Stop at the first check whose validation accuracy reaches band[0]; band[1] is reported if overshot. */
  band: [number, number];
  maxSteps: number;
  maxCompletionTokens: number;
  /** SFT steps between validation checks. */
  checkEvery: number;
}

/**
 * SFT of a built-in model from random init on the chains' worked solutions, stopped by validation accuracy (not by a
 * step count): every `checkEvery` steps the checkpoint's greedy accuracy on 64 validation chains (a draw disjoint
 * from the held-out set) is measured, and the run pauses at the first that reaches the band's low end. Deterministic
 * in its seeds on one backend, so the same warm-up is rebuilt anywhere. Returns the checkpoint directory.
 */
export async function warmUp(o: WarmupOptions, work: string): Promise<string> {
  const sft = generateChain({ n: 8000, seed: DATA_SEEDS.sft, variant: o.variant });
  const validation = chains(o.variant, 64, DATA_SEEDS.validation);
  const root = join(work, `warmup-${o.variant}`);
  rmSync(root, { recursive: true, force: true });
  const spec: TrainingRunSpec = {
    method: 'supervised',
    baseModel: { kind: 'builtin', name: o.model },
    trainingFile: dataFile(join(root, 'data'), 'sft.jsonl', toJsonl(sft, 'sft')),
    hyperparameters: resolveHyperparameters('supervised', { batch_size: 16, n_epochs: 50 }, sft.length),
    seed: 0,
    checkpointInterval: o.checkEvery,
    sampleInterval: 0,
    passThreshold: 1,
    // SFT from random init: a constant 2e-3 (no schedule, so where the run stops does not change its LR).
    trainer: {
      maxSteps: o.maxSteps,
      baseLearningRate: 2e-3,
      lrSchedule: 'constant',
      warmupRatio: 0.02,
      sftMicroBatchSize: 16,
    },
  };
  const t0 = Date.now();
  let reached = false;
  const outcome = await runTraining(spec, {
    checkpointRoot: root,
    threads,
    callbacks: {
      onStep: (step, _total, m) => {
        if (step % 50 === 0)
          log(
            `  warm-up step ${step} loss ${m['loss'].toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`,
          );
      },
      onCheckpoint: async (c) => {
        const v = await greedyAccuracy(c.dir, validation, o.maxCompletionTokens);
        log(`  warm-up step ${c.step}: validation greedy accuracy ${v.accuracy.toFixed(3)}`);
        if (v.accuracy >= o.band[0]) reached = true;
      },
      control: () => (reached ? 'pause' : 'continue'),
    },
  });
  if (!reached)
    throw new Error(
      `warm-up: validation accuracy stayed below ${o.band[0]} for ${outcome.step} steps (raise --max-warmup-steps or use tt-micro)`,
    );
  return outcome.modelDir as string;
}

/** SFT steps of a warm-up checkpoint written by {@link warmUp} (its trainer state). */
export function warmupStepsOf(dir: string): number {
  const state = readTrainerState(dir);
  if (state.method !== 'supervised') throw new Error(`${dir} is not an SFT warm-up (method ${state.method})`);
  return state.step;
}

const TRAIN_EXAMPLES = 4000;
export const heldOutSet = (variant: ChainVariant, n: number): string =>
  chains(variant, n, DATA_SEEDS.heldOut);

/** Greedy held-out accuracy of the warm-up (step 0 of every curve). */
export async function evaluateBase(warmupDir: string, config: BenchConfig): Promise<BaseEval> {
  return greedyAccuracy(warmupDir, heldOutSet(config.variant, config.heldOut), config.maxCompletionTokens);
}

/** The trainer spec of one RL run (arm × seed) from the warm-up: the same for the library and `--via-api`. */
export function armSpec(
  config: BenchConfig,
  warmupDir: string,
  arm: Arm,
  seed: number,
  root: string,
): TrainingRunSpec {
  // Greedy held-out evaluation only (eval_samples 0, below the api's range: the benchmark is not a job).
  const hyperparameters = {
    ...resolveHyperparameters(
      'reinforcement',
      { batch_size: config.promptsPerStep, n_epochs: 100, eval_interval: config.evalEvery },
      TRAIN_EXAMPLES,
    ),
    eval_samples: 0,
  };
  return {
    method: 'reinforcement',
    baseModel: { kind: 'directory', path: warmupDir },
    trainingFile: dataFile(
      join(root, 'data'),
      'train.jsonl',
      chains(config.variant, TRAIN_EXAMPLES, DATA_SEEDS.rl),
    ),
    validationFile: dataFile(
      join(root, 'data'),
      'held-out.jsonl',
      heldOutSet(config.variant, config.heldOut),
    ),
    grader: mathAnswerGrader(),
    hyperparameters,
    algorithm: resolveAlgorithm({ ...rlCommon(config), ...arm.algorithm }, hyperparameters.batch_size),
    lora: config.loraRank > 0 ? resolveLora({ rank: config.loraRank, alpha: 2 * config.loraRank }) : null,
    seed,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    // Constant LR after a linear warm-up, the same in every arm: the arms differ only in the estimator (and μ).
    trainer: {
      maxSteps: config.rlSteps,
      lrSchedule: 'constant',
      warmupRatio: (config.lrWarmupSteps + 0.5) / config.rlSteps,
      baseLearningRate: config.lr,
    },
  };
}

/** Per-step series a run keeps besides its held-out curve. */
const SERIES: Record<string, keyof RunResult['series']> = {
  grad_norm: 'gradNorm',
  grad_clipped: 'gradClipped',
  reward: 'reward',
  entropy: 'entropy',
  'chain/first_error_line': 'firstErrorLine',
  'completions/mean_length': 'length',
};

/** Folds one step's metrics into the run's record. */
export function recordStep(
  result: RunResult,
  phaseSums: Record<string, number[]>,
  step: number,
  m: StepMetrics,
): void {
  for (const [metric, key] of Object.entries(SERIES)) result.series[key].push(m[metric] ?? NaN);
  for (const [k, v] of Object.entries(m))
    if (k.startsWith('throughput/') || k.startsWith('time/')) (phaseSums[k] ??= []).push(v);
  if (m['eval_accuracy'] !== undefined) {
    result.evalSteps.push(step);
    result.evalAccuracy.push(m['eval_accuracy']);
  }
}

export function emptyResult(arm: string, seed: number, base: BaseEval): RunResult {
  return {
    arm,
    seed,
    evalSteps: [0],
    evalAccuracy: [base.accuracy],
    series: { gradNorm: [], gradClipped: [], reward: [], entropy: [], firstErrorLine: [], length: [] },
    phase: {},
    seconds: 0,
  };
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
  const spec = armSpec(config, warmupDir, arm, seed, root);
  const result = emptyResult(arm.name, seed, base);
  const phaseSums: Record<string, number[]> = {};
  const t0 = Date.now();
  await runTraining(spec, {
    checkpointRoot: root,
    threads,
    callbacks: {
      onStep: (step, _total, m: StepMetrics) => {
        recordStep(result, phaseSums, step, m);
        if (m['eval_accuracy'] !== undefined) {
          const recent = mean(result.series.reward.slice(-config.evalEvery));
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
