import * as tf from '@tensorflow/tfjs-core';

import type { TransformerModel } from '@tracetune/model';

import type { SftExample } from './data';

/** Right-padded [B, L] inputs/targets/mask of SFT examples. */
function pack(examples: readonly SftExample[]): {
  inputs: number[][];
  targets: number[][];
  mask: number[][];
} {
  const L = Math.max(...examples.map((e) => e.input.length));
  const padTo = (xs: readonly number[]): number[] => [...xs, ...new Array<number>(L - xs.length).fill(0)];
  return {
    inputs: examples.map((e) => padTo(e.input)),
    targets: examples.map((e) => padTo(e.target)),
    mask: examples.map((e) => padTo(e.lossMask)),
  };
}

export function trainedTokenCount(examples: readonly SftExample[]): number {
  return examples.reduce((s, e) => s + e.lossMask.reduce((a, b) => a + b, 0), 0);
}

/**
 * Σ over trained target tokens of −log p, divided by `normaliser` (the trained tokens of the whole batch, so that
 * micro-batch losses add up to the batch's token mean). Call inside a gradient closure or a tidy.
 */
export function sftLoss(
  model: TransformerModel,
  examples: readonly SftExample[],
  normaliser: number,
  training = false,
): tf.Scalar {
  const { inputs, targets, mask } = pack(examples);
  const logp = model.logProbsOfTargets(inputs, targets, { training }).logProbs; // [B, L]
  return tf.div(tf.neg(tf.sum(tf.mul(logp, tf.tensor2d(mask)))), Math.max(1, normaliser)) as tf.Scalar;
}

/** Token-mean negative log-likelihood over `examples`, in chunks of `chunk` (no gradient). */
export function sftEvalLoss(model: TransformerModel, examples: readonly SftExample[], chunk: number): number {
  const total = trainedTokenCount(examples);
  let loss = 0;
  for (let i = 0; i < examples.length; i += chunk) {
    const part = examples.slice(i, i + chunk);
    if (trainedTokenCount(part) === 0) continue;
    const value = tf.tidy(() => sftLoss(model, part, total));
    loss += value.dataSync()[0];
    value.dispose();
  }
  return loss;
}
