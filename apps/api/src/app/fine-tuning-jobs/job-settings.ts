import type { AlgorithmInput, HyperparametersInput, LoraInput } from '@tracetune/contracts';
import {
  DEFAULT_LORA,
  resolveAlgorithm as withAlgorithmDefaults,
  type ResolvedAlgorithm,
  type ResolvedHyperparameters,
  type ResolvedLora,
} from '@tracetune/trainer';

/**
 * Resolution of every "auto" and default of a job's settings (stored on the job, so a job's behaviour never changes
 * when defaults do). The defaults are documented in docs/fine-tuning.md.
 */
export function resolveHyperparameters(
  method: 'supervised' | 'reinforcement',
  input: HyperparametersInput | undefined,
  examples: number,
): ResolvedHyperparameters & { total_steps: number } {
  const pick = <T>(value: T | 'auto' | undefined, fallback: T): T =>
    value === undefined || value === 'auto' ? fallback : value;
  const n_epochs = pick(input?.n_epochs, method === 'reinforcement' ? 1 : 3);
  const batch_size = Math.min(
    pick(input?.batch_size, method === 'reinforcement' ? 4 : 8),
    Math.max(1, examples),
  );
  const total_steps = Math.max(1, Math.ceil((examples * n_epochs) / batch_size));
  return {
    n_epochs,
    batch_size,
    learning_rate_multiplier: pick(input?.learning_rate_multiplier, 1),
    eval_interval: pick(input?.eval_interval, Math.max(1, Math.floor(total_steps / 10))),
    eval_samples: pick(input?.eval_samples, 4),
    compute_multiplier: pick(input?.compute_multiplier, 1),
    total_steps,
  };
}

/**
 * The trainer's algorithm defaults (libs/trainer/src/lib/defaults.ts, the one table) under the caller's values, with
 * two job-level rules: `epsilon_high` follows a given `epsilon`, and micro-batches default to the whole batch.
 */
export function resolveAlgorithm(input: AlgorithmInput | undefined, batchSize: number): ResolvedAlgorithm {
  const given = Object.fromEntries(
    Object.entries(input ?? {}).filter(([, value]) => value !== undefined),
  ) as Partial<ResolvedAlgorithm>;
  const resolved = withAlgorithmDefaults({
    ...given,
    ...(given.epsilon !== undefined && given.epsilon_high === undefined
      ? { epsilon_high: given.epsilon }
      : {}),
  });
  return { ...resolved, micro_batch_size: Math.min(given.micro_batch_size ?? batchSize, batchSize) };
}

/** Absent `lora` means full fine-tuning; given fields override the trainer's LoRA defaults. */
export function resolveLora(input: LoraInput | null | undefined): ResolvedLora | null {
  if (!input) return null;
  const given = Object.fromEntries(
    Object.entries(input).filter(([, value]) => value !== undefined),
  ) as Partial<ResolvedLora>;
  return { ...DEFAULT_LORA, target_modules: [...DEFAULT_LORA.target_modules], ...given };
}
