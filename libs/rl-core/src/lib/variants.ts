import * as tf from '@tensorflow/tfjs-core';

import type { TokenCredit } from './credit';
import { Registry } from './registry';

/**
 * Log-ratios are capped at ±20 before exp, as verl's `compute_policy_loss` does: e^20 ≈ 4.9e8 is far beyond any
 * ratio a clipped update produces, and without the cap exp overflows to inf in float32 and 0·inf makes NaN gradients.
 */
export const LOG_RATIO_LIMIT = 20;

export interface VariantInput {
  /** d = logπ_θ − logπ_old, [B, T], 0 past each completion's end. */
  logRatio: tf.Tensor2D;
  credit: TokenCredit;
  /** Ã per sequence, [B, 1]. */
  advantages: tf.Tensor2D;
  /** W_k per token, [B, T], 0 past each completion's end. */
  weights: tf.Tensor2D;
  epsilon: number;
  epsilonHigh: number;
}

export interface VariantOutput {
  /** Policy part of obj_{i,t} (before the KL term), [B, T]. */
  objective: tf.Tensor2D;
  /** The ratio that is clipped (ρ_t for eps_trace, r_k for eps_weight), [B, T]; for the clip statistics. */
  clippedRatio: tf.Tensor2D;
  /** z for eps_trace, null otherwise. */
  tracedLogRatio: tf.Tensor2D | null;
}

/** A policy-loss variant: one pure function of the log-ratios, credit and advantages. */
export type PolicyVariant = (input: VariantInput) => VariantOutput;

/**
 * clip(x, lo, hi) as max then min: the same values and (almost everywhere) the same gradient as tf.clipByValue,
 * but its backward pass needs no LogicalAnd, which is slow on the wasm backend.
 */
export function clamp<T extends tf.Tensor>(x: T, lo: number, hi: number): T {
  return tf.minimum(tf.maximum(x, lo), hi);
}

/** min(ρ·A, clip(ρ, 1 − ε, 1 + ε_high)·A) with ρ = exp(x); x: [B, T], A: [B, 1] → [B, T]. */
export function clippedSurrogate(
  logRatio: tf.Tensor2D,
  advantages: tf.Tensor2D,
  epsilon: number,
  epsilonHigh: number,
): { objective: tf.Tensor2D; ratio: tf.Tensor2D } {
  return tf.tidy(() => {
    const ratio = tf.exp(clamp(logRatio, -LOG_RATIO_LIMIT, LOG_RATIO_LIMIT));
    const clipped = clamp(ratio, 1 - epsilon, 1 + epsilonHigh);
    const objective = tf.minimum(tf.mul(ratio, advantages), tf.mul(clipped, advantages));
    return { objective: objective as tf.Tensor2D, ratio: ratio as tf.Tensor2D };
  });
}

export const policyVariants = new Registry<PolicyVariant>('policy variant')
  // ε-trace: clip the ratio of traced log-probabilities, ρ_t = exp(z_t).
  .register('eps_trace', ({ logRatio, credit, advantages, epsilon, epsilonHigh }) => {
    const z = credit.tracedLogRatio(logRatio);
    const { objective, ratio } = clippedSurrogate(z, advantages, epsilon, epsilonHigh);
    return { objective, clippedRatio: ratio, tracedLogRatio: credit.traced ? z : null };
  })
  // ε-weight [interpretation]: GRPO's per-token clipped ratio, weighted by the trace column sum W_k.
  .register('eps_weight', ({ logRatio, advantages, weights, epsilon, epsilonHigh }) => {
    const { objective, ratio } = clippedSurrogate(logRatio, advantages, epsilon, epsilonHigh);
    return { objective: tf.mul(objective, weights), clippedRatio: ratio, tracedLogRatio: null };
  });
