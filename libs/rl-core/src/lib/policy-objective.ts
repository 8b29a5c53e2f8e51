import * as tf from '@tensorflow/tfjs-core';

import { registerGradients } from '@tracetune/tfjs-gradients';

import { lossAggregations } from './aggregation';
import type { RlConfig } from './config';
import { advantageEstimators } from './estimators';
import { clamp, LOG_RATIO_LIMIT, policyVariants } from './variants';

/**
 * The one tfjs objective behind both the batched training loss and the per-sequence contract
 * (`sequenceObjective` runs it with B = 1). Everything that varies is looked up in the registries.
 */
export interface PolicyObjectiveInput {
  /** logπ_θ, [B, T] — the tensor gradients are taken with respect to. */
  logpNew: tf.Tensor2D;
  /** logπ_old, [B, T]. */
  logpOld: tf.Tensor2D;
  /** logπ_ref, [B, T], or null (then the KL term is absent; requires β = 0). */
  logpRef: tf.Tensor2D | null;
  /** Completion length of every row; positions ≥ length are padding. */
  lengths: readonly number[];
  /** Ã per sequence (after the clamp). */
  advantages: readonly number[];
  /** False for sequences left out of the loss. */
  included: readonly boolean[];
  config: RlConfig;
}

export interface PolicyObjective {
  loss: tf.Scalar;
  /** The loss without the KL term. */
  policyLoss: tf.Scalar;
  /** Unweighted k3 KL per token, [B, T], or null without a reference. */
  kl: tf.Tensor2D | null;
  /** d = logπ_θ − logπ_old, [B, T], 0 on padding. */
  logRatio: tf.Tensor2D;
  /** The ratio the variant clips, [B, T]. */
  clippedRatio: tf.Tensor2D;
  /** z for eps_trace of grpo_lambda, else null. */
  tracedLogRatio: tf.Tensor2D | null;
  /** 1 on completion tokens, 0 on padding, [B, T]. */
  validMask: tf.Tensor2D;
  /** W_k of every row (float64, host), its own length each. */
  traceWeights: Float64Array[];
}

function rowMajor(rows: readonly Float64Array[], paddedLength: number): Float32Array {
  const out = new Float32Array(rows.length * paddedLength);
  rows.forEach((row, i) => out.set(row, i * paddedLength));
  return out;
}

/** Builds the objective; not wrapped in tidy, so call it inside one (or inside tf.grad). */
export function buildPolicyObjective(input: PolicyObjectiveInput): PolicyObjective {
  registerGradients();
  const { config, lengths } = input;
  const [batch, paddedLength] = input.logpNew.shape;
  const credit = advantageEstimators.get(config.estimator)(config);
  const traceWeights = lengths.map((length) => credit.tokenWeights(length));

  const validMask = tf.tensor2d(
    rowMajor(
      lengths.map((length) => new Float64Array(length).fill(1)),
      paddedLength,
    ),
    [batch, paddedLength],
  ); // [B, T]
  const valid = tf.cast(validMask, 'bool');
  // `where`, not a product: padding may hold anything (even NaN) and must not reach the causal scans.
  const logRatio = tf.where(
    valid,
    tf.sub(input.logpNew, input.logpOld),
    tf.zeros([batch, paddedLength]),
  ) as tf.Tensor2D;
  const advantages = tf.tensor2d([...input.advantages], [batch, 1]); // [B, 1]
  const weights = tf.tensor2d(rowMajor(traceWeights, paddedLength), [batch, paddedLength]); // [B, T]

  // grpo needs no special case: its identity credit (z = d, W = 1) makes both variants plain GRPO.
  const variant = policyVariants.get(config.variant)({
    logRatio,
    credit,
    advantages,
    weights,
    epsilon: config.epsilon,
    epsilonHigh: config.epsilonHigh,
  });
  let policy: tf.Tensor2D = variant.objective; // [B, T]
  if (config.normalizeTraceWeights) {
    const meanWeight = traceWeights.map((w) =>
      w.length === 0 ? 1 : w.reduce((s, v) => s + v, 0) / w.length,
    );
    policy = tf.div(policy, tf.tensor2d(meanWeight, [batch, 1]));
  }

  let kl: tf.Tensor2D | null = null;
  if (input.logpRef !== null) {
    // k3 estimator exp(x) − x − 1 with x = logπ_ref − logπ_θ (capped like the ratios).
    const x = clamp(
      tf.where(valid, tf.sub(input.logpRef, input.logpNew), tf.zeros([batch, paddedLength])),
      -LOG_RATIO_LIMIT,
      LOG_RATIO_LIMIT,
    );
    kl = tf.sub(tf.sub(tf.exp(x), x), 1) as tf.Tensor2D;
  } else if (config.beta > 0) {
    throw new Error(
      `beta = ${config.beta} > 0 needs reference log-probs (logpRef); pass them or set beta = 0`,
    );
  }

  const coefficients = tf.tensor2d(
    lossAggregations.get(config.lossAggregation)({
      lengths,
      included: input.included,
      paddedLength,
      maxCompletionLength: config.maxCompletionLength,
    }),
    [batch, paddedLength],
  ); // [B, T]
  const aggregate = (perToken: tf.Tensor2D): tf.Scalar =>
    tf.neg(tf.sum(tf.mul(tf.where(valid, perToken, tf.zeros([batch, paddedLength])), coefficients)));
  const policyLoss = aggregate(policy);
  const loss =
    kl !== null && config.beta > 0 ? aggregate(tf.sub(policy, tf.mul(kl, config.beta))) : policyLoss;
  return {
    loss,
    policyLoss,
    kl,
    logRatio,
    clippedRatio: variant.clippedRatio,
    tracedLogRatio: variant.tracedLogRatio,
    validMask,
    traceWeights,
  };
}
