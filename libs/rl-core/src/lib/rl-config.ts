import { rewardScalings, stdModes } from './advantages';
import { lossAggregations } from './aggregation';
import { GRPO_LAMBDA_DEFAULTS, listRlConfigProblems, RlConfig, RlConfigError } from './config';
import { traceStyles } from './credit';
import { advantageEstimators } from './estimators';
import { policyVariants } from './variants';

/** Every problem of `config` against the registries as they are now; empty when valid. */
export function rlConfigProblems(config: RlConfig): string[] {
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

/**
 * `base` (GRPO-λ by default) with `overrides`, validated. Keys set to `undefined` keep the base value (`null` is a
 * value: it disables the advantage clamp). Overriding `epsilon` alone moves `epsilonHigh` with it, so clip-higher
 * stays off unless asked for.
 */
export function createRlConfig(
  overrides: Partial<RlConfig> = {},
  base: Readonly<RlConfig> = GRPO_LAMBDA_DEFAULTS,
): RlConfig {
  const given = Object.fromEntries(
    Object.entries(overrides).filter(([, v]) => v !== undefined),
  ) as Partial<RlConfig>;
  const epsilonHigh =
    given.epsilonHigh ??
    (given.epsilon !== undefined && base.epsilonHigh === base.epsilon ? given.epsilon : base.epsilonHigh);
  return validateRlConfig({ ...base, ...given, epsilonHigh });
}
