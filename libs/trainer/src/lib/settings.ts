import type { TrainerOptions, TrainingRunSpec } from './contract';

/**
 * Optimiser and loop settings that OpenAI's hyperparameters do not name. Defaults follow TRL's GRPOTrainer /
 * SFTTrainer where they exist; the learning rates are ours (see `baseLearningRate`).
 */
export interface TrainerSettings {
  /** Peak learning rate before `learning_rate_multiplier`; null = `baseLearningRate` of the model and method. */
  baseLearningRate: number | null;
  lrSchedule: 'cosine' | 'constant';
  /** Fraction of the optimiser updates spent warming the LR up linearly from 0. */
  warmupRatio: number;
  /** The cosine schedule decays to this fraction of the peak (0.1, as in Llama/Qwen recipes). */
  minLrRatio: number;
  /** Decoupled weight decay (AdamW). TRL's default 0. */
  weightDecay: number;
  adamBeta1: number;
  adamBeta2: number;
  adamEpsilon: number;
  /** Gradient clipping by global norm (TRL/HF default 1.0). */
  maxGradNorm: number;
  /** Graded samples in flight at once. */
  graderConcurrency: number;
  /** Validation prompts/examples used per evaluation (the first N of the file); 0 = all. */
  maxEvalExamples: number;
  /** SFT examples per micro-batch (gradient accumulation); 0 = the whole batch at once. */
  sftMicroBatchSize: number;
  /** Tokens per SFT example are cut to this (and to the model's context). */
  maxSequenceTokens: number;
  /** Stop after this many steps (null = the epoch-derived total). */
  maxSteps: number | null;
}

export const DEFAULT_TRAINER_SETTINGS: Readonly<TrainerSettings> = Object.freeze({
  baseLearningRate: null,
  lrSchedule: 'cosine',
  warmupRatio: 0.05,
  minLrRatio: 0.1,
  weightDecay: 0,
  adamBeta1: 0.9,
  adamBeta2: 0.999,
  adamEpsilon: 1e-8,
  maxGradNorm: 1,
  graderConcurrency: 8,
  maxEvalExamples: 0,
  sftMicroBatchSize: 8,
  maxSequenceTokens: 1024,
  maxSteps: null,
});

export function resolveSettings(options: TrainerOptions | null | undefined): TrainerSettings {
  const out: TrainerSettings = { ...DEFAULT_TRAINER_SETTINGS };
  for (const [key, value] of Object.entries(options ?? {})) {
    if (value !== undefined && key in out) (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Models below this size are the built-in tiny family (or similar): they start far from useful and need larger steps. */
const TINY_MODEL_PARAMETERS = 50_000_000;

/**
 * Peak learning rate before the multiplier. Real (≥ 50M parameter) models: 1e-4 with LoRA, 1e-5 full fine-tuning
 * (spec). Tiny models (the built-in tt-* family, < 50M parameters): 1e-3 with LoRA and 3e-4 full — measured on
 * tt-nano/tt-micro, 1e-5 moves a byte-level model from random init by nothing visible in hundreds of steps, while
 * 3e-4 trains SFT warm-ups stably with Adam and clipping at 1.0.
 */
export function baseLearningRate(
  spec: TrainingRunSpec,
  parameterCount: number,
  settings: TrainerSettings,
): number {
  if (settings.baseLearningRate !== null) return settings.baseLearningRate;
  const lora = !!spec.lora;
  if (parameterCount < TINY_MODEL_PARAMETERS) return lora ? 1e-3 : 3e-4;
  return lora ? 1e-4 : 1e-5;
}

/** LR at optimiser update `update` (0-based) of `total`: linear warm-up, then cosine to minLrRatio·peak or constant. */
export function learningRateAt(
  update: number,
  total: number,
  peak: number,
  settings: TrainerSettings,
): number {
  const warmup = Math.floor(settings.warmupRatio * total);
  if (update < warmup) return (peak * (update + 1)) / (warmup + 1);
  if (settings.lrSchedule === 'constant') return peak;
  const span = Math.max(1, total - warmup);
  const progress = Math.min(1, (update - warmup) / span);
  const cosine = 0.5 * (1 + Math.cos(Math.PI * progress));
  return peak * (settings.minLrRatio + (1 - settings.minLrRatio) * cosine);
}
