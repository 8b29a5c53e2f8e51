/**
 * The learning benchmark's settings: the task, the arms and every knob of a run, as one JSON-serialisable
 * {@link BenchConfig} that each shard records so that `--merge` can check the shards belong together.
 */
import type { AlgorithmInput } from '@tracetune/contracts';
import type { ChainVariant } from '@tracetune/trainer';

/**
 * The task: decision-dense chains (8 additions/subtractions of operands 1..20, "Step k: a op b = c" lines, ≈ 170 byte
 * tokens, reward on the final answer only). The `hard_first` / `hard_last` variants put the one hard step (a two-digit
 * operand that carries or borrows) first or last: GRPO-λ weights credit by position, so its gap to the clamp control
 * should change sign between them if the trace is what matters.
 */
export const taskLabel = (variant: ChainVariant): string =>
  `chains of 8 ± of 1..20, one hard step ${variant === 'hard_first' ? 'first' : variant === 'hard_last' ? 'last' : 'anywhere'} (${variant})`;

export interface Arm {
  name: string;
  algorithm: AlgorithmInput;
}

/**
 * The arms. `grpo_clamp` is the control every GRPO-λ arm is paired against: the same −0.1 clamp of negative
 * advantages without the trace, so a difference is the trace's. `grpo_lambda_mu2` runs two optimisation passes per
 * batch (μ = 2), the only regime where the ratio leaves 1 and the ε-trace clip acts.
 */
export const ARMS: readonly Arm[] = [
  { name: 'grpo', algorithm: { name: 'grpo', advantage_clamp_min: null } },
  { name: 'grpo_clamp', algorithm: { name: 'grpo', advantage_clamp_min: -0.1 } },
  {
    name: 'grpo_lambda',
    algorithm: { name: 'grpo_lambda', trace_style: 'both', lambda: 0.99, variant: 'eps_trace' },
  },
  {
    name: 'grpo_lambda_norm',
    algorithm: {
      name: 'grpo_lambda',
      trace_style: 'both',
      lambda: 0.99,
      variant: 'eps_trace',
      normalize_trace_weights: true,
    },
  },
  {
    name: 'grpo_lambda_mu2',
    algorithm: {
      name: 'grpo_lambda',
      trace_style: 'both',
      lambda: 0.99,
      variant: 'eps_trace',
      ppo_epochs: 2,
    },
  },
];

/** The control every other arm's ΔAUC is paired against. */
export const CONTROL_ARM = 'grpo_clamp';

/** Everything that must be equal for two runs to be comparable (seeds and arms are chosen separately). */
export interface BenchConfig {
  /** The preset the knobs started from; `custom` is decided at report time (knobs or seeds differ from it). */
  preset: 'quick' | 'full';
  task: string;
  variant: ChainVariant;
  /** Built-in model the warm-up starts from. */
  model: 'tt-nano' | 'tt-micro';
  /** The warm-up stops at the first evaluation whose held-out greedy accuracy reaches `warmupAccuracy[0]`. */
  warmupAccuracy: [number, number];
  /** SFT steps the warm-up took (read from the warm-up checkpoint when reused). */
  warmupSteps: number;
  rlSteps: number;
  evalEvery: number;
  heldOut: number;
  promptsPerStep: number;
  numGenerations: number;
  maxCompletionTokens: number;
  temperature: number;
  /** RL learning rate (Adam): linear warm-up over `lrWarmupSteps`, then constant; the same for every arm. */
  lr: number;
  lrWarmupSteps: number;
  /** Gradient-norm clip: high enough that no arm hits it (the report shows each arm's clipped fraction). */
  maxGradNorm: number;
  /** LoRA rank (α = 2·rank, all projections); 0 = full fine-tuning. */
  loraRank: number;
  /** Accuracy gain over the warm-up that "steps to threshold" counts to. */
  thresholdGain: number;
  backend: string;
}

type PresetKnobs = Omit<BenchConfig, 'backend' | 'preset' | 'task' | 'variant' | 'warmupSteps'> & {
  seeds: number[];
  /** Seeds of the plain GRPO arm (a reference curve; not the control). */
  grpoSeeds: number[];
  variants: ChainVariant[];
  arms: string[];
  /** Upper bound on warm-up SFT steps (stop earlier when the accuracy band is reached). */
  maxWarmupSteps: number;
};

/**
 * Full: sized for ≈ 8–10 core-hours on the 2-core machines (tt-nano, 4 prompts × G 8 ≈ 5.5k sampled tokens per
 * step ≈ 5 s, 256 held-out prompts every 10 steps): 6 paired seeds of the control and both GRPO-λ arms, 3 of GRPO, and
 * one μ = 2 seed, for each of the two variants (≈ 44 runs of ≈ 11 minutes). Quick: a smoke test of the pipeline only.
 */
export const PRESETS: Record<'quick' | 'full', PresetKnobs> = {
  quick: {
    model: 'tt-nano',
    // Any accuracy: the quick warm-up stops at its first check (50 steps) — a smoke test, not a measurement.
    warmupAccuracy: [0, 0.5],
    maxWarmupSteps: 300,
    rlSteps: 6,
    evalEvery: 3,
    heldOut: 32,
    promptsPerStep: 4,
    numGenerations: 4,
    maxCompletionTokens: 192,
    temperature: 0.7,
    lr: 1e-5,
    lrWarmupSteps: 1,
    maxGradNorm: 1e4,
    loraRank: 0,
    thresholdGain: 0.05,
    seeds: [1, 2],
    grpoSeeds: [1],
    variants: ['hard_last'],
    arms: ['grpo', 'grpo_clamp', 'grpo_lambda', 'grpo_lambda_norm'],
  },
  full: {
    model: 'tt-nano',
    warmupAccuracy: [0.3, 0.5],
    maxWarmupSteps: 4000,
    rlSteps: 100,
    evalEvery: 10,
    heldOut: 256,
    promptsPerStep: 4,
    numGenerations: 8,
    maxCompletionTokens: 192,
    temperature: 0.7,
    lr: 1e-5,
    lrWarmupSteps: 10,
    maxGradNorm: 1e4,
    loraRank: 0,
    thresholdGain: 0.1,
    seeds: [1, 2, 3, 4, 5, 6],
    grpoSeeds: [1, 2, 3],
    variants: ['hard_first', 'hard_last'],
    arms: ['grpo', 'grpo_clamp', 'grpo_lambda', 'grpo_lambda_norm', 'grpo_lambda_mu2'],
  },
};

/** Seeds an arm runs in a preset: GRPO on `grpoSeeds`, μ = 2 on the first seed, every other arm on all seeds. */
export function seedsOf(arm: string, seeds: readonly number[], preset: PresetKnobs): number[] {
  if (arm === 'grpo') return seeds.filter((s) => preset.grpoSeeds.includes(s));
  if (arm === 'grpo_lambda_mu2') return seeds.slice(0, 1);
  return [...seeds];
}

/** Shared RL settings of every arm: identical prompts per step, sampled-token budget and optimiser regime. */
export function rlCommon(config: BenchConfig): AlgorithmInput {
  return {
    num_generations: config.numGenerations,
    max_completion_tokens: config.maxCompletionTokens,
    // Below 1: a weak warm-up model samples few right answers at temperature 1; log-probs are scored under the same
    // temperature (as TRL and verl do). Held-out evaluation is greedy.
    temperature: config.temperature,
    top_p: 1,
    beta: 0,
    micro_batch_size: 4,
    ppo_epochs: 1,
    max_grad_norm: config.maxGradNorm,
  };
}

/** `quick`/`full` when the knobs are the preset's; otherwise `custom (from <preset>)`. */
export function modeLabel(config: BenchConfig): string {
  const preset = PRESETS[config.preset];
  const same = (Object.keys(preset) as (keyof PresetKnobs)[]).every(
    (k) => !(k in config) || JSON.stringify(preset[k]) === JSON.stringify(config[k as keyof BenchConfig]),
  );
  return same ? config.preset : `custom (from ${config.preset})`;
}

/** The knobs as one line for report headers. */
export function describeRl(config: BenchConfig): string {
  const tuning =
    config.loraRank > 0 ? `LoRA rank ${config.loraRank} (α ${2 * config.loraRank})` : 'full fine-tuning';
  return (
    `RL: ${config.rlSteps} steps × ${config.promptsPerStep} prompts × G = ${config.numGenerations} (≤ ${config.maxCompletionTokens} tokens), ` +
    `${tuning}, LR ${config.lr} constant${config.lrWarmupSteps ? ` after ${config.lrWarmupSteps} warm-up steps` : ''} in every arm, ` +
    `grad clip ${config.maxGradNorm}, temperature ${config.temperature} (scored under it), β = 0, ` +
    `held-out greedy eval of ${config.heldOut} prompts every ${config.evalEvery} steps`
  );
}
