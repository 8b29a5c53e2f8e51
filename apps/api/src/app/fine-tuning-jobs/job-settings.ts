import type { AlgorithmInput, HyperparametersInput, LoraInput } from '@tracetune/contracts';
import type { ResolvedAlgorithm, ResolvedHyperparameters, ResolvedLora } from '@tracetune/trainer';

/**
 * Resolution of every "auto" and default of a job's settings (stored on the job, so a job's behaviour never changes
 * when defaults do). The defaults are documented in docs/fine-tuning.md.
 */
export function resolveHyperparameters(
  method: 'supervised' | 'reinforcement',
  input: HyperparametersInput | undefined,
  examples: number,
): ResolvedHyperparameters & { total_steps: number } {
  const pick = <T>(value: T | 'auto' | undefined, fallback: T): T => (value === undefined || value === 'auto' ? fallback : value);
  const n_epochs = pick(input?.n_epochs, method === 'reinforcement' ? 1 : 3);
  const batch_size = Math.min(pick(input?.batch_size, method === 'reinforcement' ? 4 : 8), Math.max(1, examples));
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

export function resolveAlgorithm(input: AlgorithmInput | undefined, batchSize: number): ResolvedAlgorithm {
  const name = input?.name ?? 'grpo_lambda';
  const epsilon = input?.epsilon ?? 0.2;
  return {
    name,
    lambda: input?.lambda ?? 0.99,
    gamma: input?.gamma ?? 1,
    trace_style: input?.trace_style ?? 'both',
    variant: input?.variant ?? 'eps_trace',
    advantage_clamp_min: input?.advantage_clamp_min !== undefined ? input.advantage_clamp_min : name === 'grpo_lambda' ? -0.1 : null,
    num_generations: input?.num_generations ?? 8,
    beta: input?.beta ?? 0.04,
    epsilon,
    epsilon_high: input?.epsilon_high ?? epsilon,
    loss_aggregation: input?.loss_aggregation ?? 'seq-mean-token-mean',
    scale_rewards: input?.scale_rewards ?? 'group',
    max_completion_tokens: input?.max_completion_tokens ?? 256,
    temperature: input?.temperature ?? 1,
    top_p: input?.top_p ?? 1,
    ppo_epochs: input?.ppo_epochs ?? 1,
    micro_batch_size: Math.min(input?.micro_batch_size ?? batchSize, batchSize),
  };
}

export function resolveLora(input: LoraInput | null | undefined): ResolvedLora | null {
  if (!input) return null;
  return {
    rank: input.rank ?? 8,
    alpha: input.alpha ?? 16,
    dropout: input.dropout ?? 0,
    target_modules: input.target_modules ?? ['q_proj', 'v_proj'],
  };
}
