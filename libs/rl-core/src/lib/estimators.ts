import type { RlConfig } from './config';
import { identityCredit, TokenCredit, traceStyles } from './credit';
import { Registry } from './registry';

/**
 * An advantage estimator turns the (host) sequence advantage into per-token credit. Both estimators share the
 * group-normalised advantage (advantages.ts); they differ in how a token's log-ratio is credited to later tokens.
 */
export type AdvantageEstimator = (config: RlConfig) => TokenCredit;

export const advantageEstimators = new Registry<AdvantageEstimator>('advantage estimator')
  // GRPO: every token gets the sequence advantage on its own ratio; trace settings are ignored.
  .register('grpo', () => identityCredit)
  // GRPO-λ: eligibility traces with decay c = γ·λ in the configured style.
  .register('grpo_lambda', (config) =>
    traceStyles.get(config.traceStyle)({ decay: config.gamma * config.lambda, floor: config.traceFloor }),
  );
