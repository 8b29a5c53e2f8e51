import type { ResolvedAlgorithm, ResolvedHyperparameters, ResolvedLora } from './contract';

/**
 * Defaults for callers that start from partial settings (the CLI, benchmarks); the API resolves its own "auto"s.
 * GRPO-λ values are the paper's (λ = 0.99, clamp −0.1, `both` traces, ε-trace) and common GRPO practice elsewhere
 * (GRPO_LAMBDA.md §2); completion length and G are sized for the tiny built-in models.
 */
export const DEFAULT_ALGORITHM: Readonly<ResolvedAlgorithm> = Object.freeze({
  name: 'grpo_lambda',
  lambda: 0.99,
  gamma: 1,
  trace_style: 'both',
  variant: 'eps_trace',
  advantage_clamp_min: -0.1,
  num_generations: 8,
  beta: 0,
  epsilon: 0.2,
  epsilon_high: 0.2,
  loss_aggregation: 'seq-mean-token-mean',
  scale_rewards: 'group',
  max_completion_tokens: 128,
  temperature: 1,
  top_p: 1,
  ppo_epochs: 1,
  micro_batch_size: 2,
});

export const DEFAULT_HYPERPARAMETERS: Readonly<ResolvedHyperparameters> = Object.freeze({
  n_epochs: 1,
  batch_size: 8,
  learning_rate_multiplier: 1,
  eval_interval: 0,
  eval_samples: 4,
  compute_multiplier: 1,
});

export const DEFAULT_LORA: Readonly<ResolvedLora> = Object.freeze({
  rank: 8,
  alpha: 16,
  dropout: 0,
  target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
});

/** `partial` over the defaults; plain GRPO has no advantage clamp unless one is given. */
export function resolveAlgorithm(partial: Partial<ResolvedAlgorithm> = {}): ResolvedAlgorithm {
  const clamp =
    partial.name === 'grpo' && !('advantage_clamp_min' in partial) ? { advantage_clamp_min: null } : {};
  return { ...DEFAULT_ALGORITHM, ...clamp, ...partial };
}

export function resolveHyperparameters(
  partial: Partial<ResolvedHyperparameters> = {},
): ResolvedHyperparameters {
  return { ...DEFAULT_HYPERPARAMETERS, ...partial };
}
