/**
 * The learning benchmark's settings: the task, the arms and every knob of a run, as one JSON-serialisable
 * {@link BenchConfig} that each shard records so that `--merge` can check the shards belong together.
 */
import type { AlgorithmInput } from '@tracetune/contracts';

/**
 * The task: 4 chained additions of operands 1..6, with the verbose worked solution ("Step k: a + b = c" lines,
 * ≥ 64 byte tokens): long completions are where per-token credit assignment should matter. Additions of small
 * operands because tt-nano learns them in a few hundred SFT steps; with ± and operands up to 9, 300 warm-up steps
 * left held-out accuracy at 0–8 % and RL had no signal (first quick runs).
 */
export const TASK = { difficulty: 'long' as const, operandMax: 6, operators: ['+'] as '+'[] };
export const TASK_LABEL = `arithmetic (4 chained + of 1..${TASK.operandMax}, verbose solutions)`;

export interface Arm {
  name: string;
  algorithm: AlgorithmInput;
}

export const ARMS: readonly Arm[] = [
  { name: 'grpo', algorithm: { name: 'grpo', advantage_clamp_min: null } },
  {
    name: 'grpo_lambda_recent',
    algorithm: { name: 'grpo_lambda', trace_style: 'recent', lambda: 0.99, advantage_clamp_min: -0.1 },
  },
  {
    name: 'grpo_lambda_both',
    algorithm: { name: 'grpo_lambda', trace_style: 'both', lambda: 0.99, advantage_clamp_min: -0.1 },
  },
  { name: 'grpo_clamp', algorithm: { name: 'grpo', advantage_clamp_min: -0.1 } },
];

/** Everything that must be equal for two runs to be comparable (seeds and arms are chosen separately). */
export interface BenchConfig {
  /** The preset the knobs started from; `custom` is decided at report time (knobs or seeds differ from it). */
  preset: 'quick' | 'full';
  task: string;
  /** SFT warm-up steps (read from the warm-up checkpoint when reused). */
  warmupSteps: number;
  rlSteps: number;
  evalEvery: number;
  heldOut: number;
  promptsPerStep: number;
  numGenerations: number;
  maxCompletionTokens: number;
  temperature: number;
  /** RL learning rate (Adam): linear warm-up over `lrWarmupSteps`, then constant. */
  lr: number;
  lrWarmupSteps: number;
  /** LoRA rank (α = 2·rank, all projections); 0 = full fine-tuning. */
  loraRank: number;
  backend: string;
}

/** Defaults per preset. Full: the configuration chosen by the sweep in docs/trainer.md ("Learning benchmark"). */
export const PRESETS: Record<
  'quick' | 'full',
  Omit<BenchConfig, 'backend' | 'preset'> & { seeds: number[] }
> = {
  quick: {
    task: TASK_LABEL,
    warmupSteps: 500,
    rlSteps: 12,
    evalEvery: 3,
    heldOut: 32,
    promptsPerStep: 8,
    numGenerations: 8,
    maxCompletionTokens: 128,
    temperature: 0.7,
    lr: 1e-5,
    lrWarmupSteps: 3,
    loraRank: 0,
    seeds: [1, 2],
  },
  full: {
    task: TASK_LABEL,
    warmupSteps: 500,
    rlSteps: 60,
    evalEvery: 10,
    heldOut: 128,
    promptsPerStep: 8,
    numGenerations: 8,
    maxCompletionTokens: 128,
    temperature: 0.7,
    lr: 1e-5,
    lrWarmupSteps: 10,
    loraRank: 0,
    seeds: [1, 2, 3, 4, 5, 6],
  },
};

/** Shared RL settings of every arm: identical prompts per step and sampled-token budget. */
export function rlCommon(config: BenchConfig): AlgorithmInput {
  return {
    num_generations: config.numGenerations,
    max_completion_tokens: config.maxCompletionTokens,
    // Below 1 by default: a weak warm-up model samples few correct answers at temperature 1; the same temperature
    // is used in every arm and for nothing else (held-out evaluation is greedy).
    temperature: config.temperature,
    top_p: 1,
    beta: 0,
    micro_batch_size: 4,
    ppo_epochs: 1,
  };
}

/** `quick`/`full` when the knobs, seeds and arms are the preset's; otherwise `custom (from <preset>)`. */
export function modeLabel(config: BenchConfig, seeds: readonly number[], arms: readonly string[]): string {
  const preset = PRESETS[config.preset];
  const same =
    (Object.keys(preset) as (keyof typeof preset)[]).every(
      (k) => k === 'seeds' || preset[k] === config[k as keyof BenchConfig],
    ) &&
    seeds.join(',') === preset.seeds.join(',') &&
    arms.join(',') === ARMS.map((a) => a.name).join(',');
  return same ? config.preset : `custom (from ${config.preset})`;
}

/** The knobs as one line for report headers. */
export function describeRl(config: BenchConfig): string {
  const tuning =
    config.loraRank > 0 ? `LoRA rank ${config.loraRank} (α ${2 * config.loraRank})` : 'full fine-tuning';
  return (
    `RL: ${config.rlSteps} steps × ${config.promptsPerStep} prompts × G = ${config.numGenerations} (≤ ${config.maxCompletionTokens} tokens), ` +
    `${tuning}, LR ${config.lr} constant${config.lrWarmupSteps ? ` after ${config.lrWarmupSteps} warm-up steps` : ''}, temperature ${config.temperature}, β = 0, held-out greedy eval every ${config.evalEvery} steps`
  );
}
