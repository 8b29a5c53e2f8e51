import * as tf from '@tensorflow/tfjs-core';

import { computeGroupAdvantages } from './advantages';
import type {
  AdvantageEstimatorName,
  PolicyVariantName,
  RlConfig,
  StdModeName,
  TraceStyleName,
} from './config';
import { GRPO_LAMBDA_DEFAULTS } from './config';
import { buildPolicyObjective } from './policy-objective';
import { validateRlConfig } from './rl-config';

/** The verification contract of docs/algorithm.md §3 (plain numbers in, plain numbers out). */
export interface SequenceObjectiveConfig {
  estimator: AdvantageEstimatorName;
  gamma: number;
  lambda: number;
  traceStyle: TraceStyleName;
  variant: PolicyVariantName;
  clipEps: number;
  beta: number;
  advEps: number;
  stdMode: StdModeName;
  advantageClampMin: number | null;
  traceFloor: number;
  /** Extension: DAPO clip-higher (default clipEps). */
  clipEpsHigh?: number;
  /** Extension: divide the policy term by the mean trace weight (default false). */
  normalizeTraceWeights?: boolean;
}

export interface SequenceObjectiveInput {
  /** Completion tokens only. */
  logpNew: number[];
  logpOld: number[];
  logpRef: number[] | null;
  /** Rewards of the whole group. */
  groupRewards: number[];
  /** Which member of the group this sequence is. */
  index: number;
  config: SequenceObjectiveConfig;
}

export interface SequenceObjectiveOutput {
  /** A_i before the clamp. */
  advantageRaw: number;
  /** Ã_i after the clamp. */
  advantage: number;
  /** L_i = −(1/|o_i|) Σ_t obj_{i,t}. */
  loss: number;
  /** dL_i / d logpNew. */
  gradLogpNew: number[];
  /** z (eps_trace of grpo_lambda) or null. */
  tracedLogRatio: number[] | null;
  /** W_k (all 1 for grpo). */
  weights: number[];
}

/** The full config the contract's config stands for (group scaling, per-sequence token mean, one group). */
export function contractConfig(input: SequenceObjectiveInput): RlConfig {
  const c = input.config;
  return validateRlConfig({
    ...GRPO_LAMBDA_DEFAULTS,
    estimator: c.estimator,
    groupSize: input.groupRewards.length,
    scaleRewards: 'group',
    stdMode: c.stdMode,
    advEps: c.advEps,
    advantageClampMin: c.advantageClampMin,
    skipZeroStdGroups: false,
    gamma: c.gamma,
    lambda: c.lambda,
    traceStyle: c.traceStyle,
    variant: c.variant,
    traceFloor: c.traceFloor,
    normalizeTraceWeights: c.normalizeTraceWeights ?? false,
    epsilon: c.clipEps,
    epsilonHigh: c.clipEpsHigh ?? c.clipEps,
    beta: c.beta,
    lossAggregation: 'seq-mean-token-mean',
    maxCompletionLength: Math.max(1, input.logpNew.length),
  });
}

export function checkSequenceInput(input: SequenceObjectiveInput): void {
  const length = input.logpNew.length;
  if (length === 0) throw new Error('the completion is empty; a sequence objective needs at least one token');
  if (input.logpOld.length !== length || (input.logpRef !== null && input.logpRef.length !== length)) {
    throw new Error(`logpNew, logpOld and logpRef must have the same length (${length})`);
  }
  if (!Number.isInteger(input.index) || input.index < 0 || input.index >= input.groupRewards.length) {
    throw new Error(`index ${input.index} is not a member of the group (size ${input.groupRewards.length})`);
  }
}

/**
 * The training path on one sequence: the same `buildPolicyObjective` the batched loss uses, with B = 1, and the
 * gradient by tfjs autograd.
 */
export function sequenceObjective(input: SequenceObjectiveInput): SequenceObjectiveOutput {
  checkSequenceInput(input);
  const config = contractConfig(input);
  const group = computeGroupAdvantages({
    rewards: input.groupRewards,
    groupIds: input.groupRewards.map(() => 0),
    scaleRewards: config.scaleRewards,
    stdMode: config.stdMode,
    advEps: config.advEps,
    advantageClampMin: config.advantageClampMin,
  });
  const length = input.logpNew.length;
  const row = (values: number[]): tf.Tensor2D => tf.tensor2d(values, [1, length]);
  const build = (logpNew: tf.Tensor2D) =>
    buildPolicyObjective({
      logpNew,
      logpOld: row(input.logpOld),
      logpRef: input.logpRef === null ? null : row(input.logpRef),
      lengths: [length],
      advantages: [group.advantages[input.index]],
      included: [true],
      config,
    });
  let output: SequenceObjectiveOutput | undefined;
  tf.tidy(() => {
    const logpNew = row(input.logpNew);
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => build(x as tf.Tensor2D).loss)(logpNew);
    const forward = build(logpNew);
    output = {
      advantageRaw: group.raw[input.index],
      advantage: group.advantages[input.index],
      loss: value.dataSync()[0],
      gradLogpNew: Array.from(grad.dataSync()),
      tracedLogRatio: forward.tracedLogRatio === null ? null : Array.from(forward.tracedLogRatio.dataSync()),
      weights: Array.from(forward.traceWeights[0]),
    };
  });
  return output as SequenceObjectiveOutput;
}
