import { rewardScalings, stdModes } from './advantages';
import { lossAggregations } from './aggregation';
import {
  GRPO_LAMBDA_DEFAULTS,
  listRlConfigProblems,
  mergeRlConfig,
  RlConfig,
  RlConfigError,
  type RlConfigProblem,
} from './config';
import { traceStyles } from './credit';
import { advantageEstimators } from './estimators';
import { policyVariants } from './variants';

/** Every problem of `config` against the registries as they are now; empty when valid. */
export function rlConfigProblems(config: RlConfig): RlConfigProblem[] {
  return listRlConfigProblems(config, {
    estimator: advantageEstimators.names(),
    scaleRewards: rewardScalings.names(),
    stdMode: stdModes.names(),
    traceStyle: traceStyles.names(),
    variant: policyVariants.names(),
    lossAggregation: lossAggregations.names(),
  });
}

/** Returns `config` if valid, else throws an RlConfigError listing every problem with its remedy. */
export function validateRlConfig(config: RlConfig): RlConfig {
  const problems = rlConfigProblems(config);
  if (problems.length > 0) throw new RlConfigError(problems);
  return config;
}

/** `base` (GRPO-λ by default) with `overrides` ({@link mergeRlConfig}), validated against the registries. */
export function createRlConfig(
  overrides: Partial<RlConfig> = {},
  base: Readonly<RlConfig> = GRPO_LAMBDA_DEFAULTS,
): RlConfig {
  return validateRlConfig(mergeRlConfig(overrides, base));
}
