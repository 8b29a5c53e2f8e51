import * as tf from '@tensorflow/tfjs-core';

import { computeGroupAdvantages, stdModes } from './advantages';
import type { RlConfig } from './config';
import { advantageEstimators } from './estimators';
import { buildPolicyObjective } from './policy-objective';

/** One training batch: padded [B, T] tensors plus plain per-sequence numbers. */
export interface PolicyLossBatch {
  /** logπ_θ of the completion tokens, [B, T]; the loss is differentiable with respect to it. */
  logpNew: tf.Tensor2D;
  /** logπ_old (the sampling policy), [B, T]. */
  logpOld: tf.Tensor2D;
  /** logπ_ref, [B, T]; may be absent when β = 0. */
  logpRef?: tf.Tensor2D | null;
  /** 1 on completion tokens, 0 on padding, [B, T]; right-padded (each row is 1…1 0…0), rows of length ≥ 1. */
  completionMask: tf.Tensor2D;
  /** Prompt (group) of every sequence, length B. */
  groupIds: readonly (number | string)[];
  /** Reward of every sequence, length B. */
  rewards: readonly number[];
}

/** What a trainer logs per batch. Token statistics are over completion tokens (padding excluded). */
export interface PolicyLossStats {
  loss: number;
  /** The loss without the KL term. */
  policyLoss: number;
  /** Mean k3 KL per token (null without a reference). */
  klMean: number | null;
  /** Tokens whose clipped ratio is below 1 − ε with Ã < 0 (their gradient is cut). */
  clipFractionLow: number;
  /** Tokens whose clipped ratio is above 1 + ε_high with Ã > 0. */
  clipFractionHigh: number;
  clipFraction: number;
  /** Mean |z| of the traced log-ratio (= mean |d| for grpo). */
  tracedLogRatioAbsMean: number;
  /** Mean |d| of the per-token log-ratio logπ_θ − logπ_old. */
  logRatioAbsMean: number;
  /** Largest clipped ratio (ρ or r) in the batch. */
  ratioMax: number;
  /** Mean trace weight W over tokens (1 for grpo): the gradient scale relative to GRPO. */
  traceWeightMean: number;
  /** Of Ã (after the clamp), over sequences. */
  advantageMean: number;
  advantageStd: number;
  /** Of A before the clamp. */
  advantageRawMean: number;
  /** Sequences whose advantage the clamp raised. */
  advantageClampedFraction: number;
  rewardMean: number;
  rewardStd: number;
  /** Groups whose rewards are all equal (no signal). */
  zeroStdGroupFraction: number;
  /** Sequences left out by skipZeroStdGroups. */
  skippedSequences: number;
  sequences: number;
  groups: number;
  tokens: number;
  completionLengthMean: number;
  completionLengthMax: number;
}

export interface PolicyLossResult {
  /** Scalar loss; differentiate it with respect to `logpNew` (or the parameters producing it). */
  loss: tf.Scalar;
  /** Reads the statistics (one download) and frees their tensors; call once. */
  readStats(): Promise<PolicyLossStats>;
  /** Frees the statistics without reading them. */
  dispose(): void;
}

/** Completion lengths from a right-padded mask; throws on holes or empty rows. */
export function lengthsFromMask(mask: tf.Tensor2D): number[] {
  const [batch, paddedLength] = mask.shape;
  const values = mask.dataSync();
  const lengths: number[] = [];
  for (let b = 0; b < batch; b++) {
    let length = 0;
    while (length < paddedLength && values[b * paddedLength + length] !== 0) length++;
    for (let t = length; t < paddedLength; t++) {
      if (values[b * paddedLength + t] !== 0) {
        throw new Error(
          `completionMask row ${b} is not right-padded (a 1 at ${t} after a 0 at ${length}); traces run over contiguous completions`,
        );
      }
    }
    if (length === 0)
      throw new Error(`completionMask row ${b} is empty; every completion needs at least one token`);
    lengths.push(length);
  }
  return lengths;
}

/** z for the statistics when the variant does not trace (eps_weight; d itself for grpo). */
function buildTraceForStats(logRatio: tf.Tensor2D, config: RlConfig): tf.Tensor2D {
  return advantageEstimators.get(config.estimator)(config).tracedLogRatio(logRatio);
}

function meanOf(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((s, v) => s + v, 0) / values.length;
}

function checkShapes(batch: PolicyLossBatch): void {
  const shape = batch.logpNew.shape.join('×');
  const others: [string, tf.Tensor2D | null | undefined][] = [
    ['logpOld', batch.logpOld],
    ['logpRef', batch.logpRef],
    ['completionMask', batch.completionMask],
  ];
  for (const [name, tensor] of others) {
    if (tensor && tensor.shape.join('×') !== shape) {
      throw new Error(`${name} has shape ${tensor.shape.join('×')}, logpNew ${shape}; all must be [B, T]`);
    }
  }
  const rows = batch.logpNew.shape[0];
  if (batch.groupIds.length !== rows || batch.rewards.length !== rows) {
    throw new Error(
      `groupIds (${batch.groupIds.length}) and rewards (${batch.rewards.length}) need one entry per row (${rows})`,
    );
  }
}

/**
 * The training loss of one batch: host advantages from rewards, then the shared tfjs objective
 * (`buildPolicyObjective`, the same code `sequenceObjective` runs with B = 1). The only entry point a trainer
 * needs; every variant is chosen by `config` through the registries. Call it inside the gradient closure
 * (`tf.variableGrads(() => computePolicyLoss(...).loss)`); the statistics survive the closure's tidy.
 */
export function computePolicyLoss(batch: PolicyLossBatch, config: RlConfig): PolicyLossResult {
  checkShapes(batch);
  const lengths = lengthsFromMask(batch.completionMask);
  const maxLength = Math.max(...lengths);
  if (config.lossAggregation === 'seq-mean-token-sum-norm' && maxLength > config.maxCompletionLength) {
    throw new Error(
      `a completion has ${maxLength} tokens > maxCompletionLength = ${config.maxCompletionLength}, the constant normaliser of 'seq-mean-token-sum-norm'; raise maxCompletionLength`,
    );
  }
  const group = computeGroupAdvantages({ ...config, rewards: batch.rewards, groupIds: batch.groupIds });
  const included = group.zeroStd.map((flat) => !(config.skipZeroStdGroups && flat));

  const { loss, statVector, traceWeightMean } = tf.tidy(() => {
    const objective = buildPolicyObjective({
      logpNew: batch.logpNew,
      logpOld: batch.logpOld,
      logpRef: batch.logpRef ?? null,
      lengths,
      advantages: group.advantages,
      included,
      config,
    });
    const { validMask, clippedRatio } = objective;
    const tokens = lengths.reduce((s, l) => s + l, 0);
    const tokenMean = (x: tf.Tensor): tf.Scalar => tf.div(tf.sum(tf.mul(x, validMask)), tokens);
    // Sign masks of Ã per row, [B, 1], from the host (a product of masks instead of LogicalAnd, slow on wasm).
    const rowMask = (keep: (a: number) => boolean): tf.Tensor2D =>
      tf.tensor2d(
        group.advantages.map((a) => (keep(a) ? 1 : 0)),
        [group.advantages.length, 1],
      );
    const low = tf.mul(
      tf.cast(tf.less(clippedRatio, 1 - config.epsilon), 'float32'),
      rowMask((a) => a < 0),
    );
    const high = tf.mul(
      tf.cast(tf.greater(clippedRatio, 1 + config.epsilonHigh), 'float32'),
      rowMask((a) => a > 0),
    );
    const traced = objective.tracedLogRatio ?? buildTraceForStats(objective.logRatio, config);
    const stats = tf.stack([
      objective.loss,
      objective.policyLoss,
      objective.kl === null ? tf.scalar(Number.NaN) : tokenMean(objective.kl),
      tokenMean(low),
      tokenMean(high),
      tokenMean(tf.abs(traced)),
      tokenMean(tf.abs(objective.logRatio)),
      tf.max(tf.mul(clippedRatio, validMask)),
    ]); // [8]
    const weightSum = objective.traceWeights.reduce((s, w) => s + w.reduce((a, v) => a + v, 0), 0);
    return { loss: objective.loss, statVector: tf.keep(stats), traceWeightMean: weightSum / tokens };
  });

  const std = stdModes.get('population');
  const host = {
    traceWeightMean,
    advantageMean: meanOf(group.advantages),
    advantageStd: std(group.advantages),
    advantageRawMean: meanOf(group.raw),
    advantageClampedFraction: meanOf(group.raw.map((a, i) => (group.advantages[i] !== a ? 1 : 0))),
    rewardMean: meanOf(batch.rewards),
    rewardStd: std(batch.rewards),
    zeroStdGroupFraction: group.zeroStdGroupCount / group.groupCount,
    skippedSequences: included.filter((x) => !x).length,
    sequences: lengths.length,
    groups: group.groupCount,
    tokens: lengths.reduce((s, l) => s + l, 0),
    completionLengthMean: meanOf(lengths),
    completionLengthMax: maxLength,
  };
  let disposed = false;
  const dispose = (): void => {
    if (!disposed) statVector.dispose();
    disposed = true;
  };
  return {
    loss,
    dispose,
    readStats: async () => {
      if (disposed) throw new Error('the statistics were already read or disposed');
      const v = await statVector.data();
      dispose();
      const clipFractionLow = v[3];
      const clipFractionHigh = v[4];
      return {
        loss: v[0],
        policyLoss: v[1],
        klMean: Number.isNaN(v[2]) ? null : v[2],
        clipFractionLow,
        clipFractionHigh,
        clipFraction: clipFractionLow + clipFractionHigh,
        tracedLogRatioAbsMean: v[5],
        logRatioAbsMean: v[6],
        ratioMax: v[7],
        ...host,
      };
    },
  };
}
