import * as tf from '@tensorflow/tfjs-core';

import type { TransformerModel } from '@tracetune/model';

/** A prompt and one sampled completion (≥ 1 token), as token ids. */
export interface PromptCompletion {
  prompt: readonly number[];
  completion: readonly number[];
}

/**
 * Host-side layout of a batch of prompt+completion rows for the causal model: inputs/targets right-padded to L
 * (pads after a sequence do not change it), and for each row the flat index of its completion tokens' log-probs
 * in the [B, L] output, padded to Tc with the row's last valid position (masked out).
 */
export interface PackedBatch {
  rows: number;
  inputs: number[][]; // [B, L]
  targets: number[][]; // [B, L]
  /** Flat indices b·L + position into the [B·L] log-probs, [B·Tc]. */
  completionIndex: Int32Array;
  completionMask: number[][]; // [B, Tc]
  completionLength: number;
  /** Prompt + completion tokens per row (what "trained tokens" counts). */
  tokens: number;
}

export function packBatch(rows: readonly PromptCompletion[], padId = 0): PackedBatch {
  const L = Math.max(...rows.map((r) => r.prompt.length + r.completion.length - 1));
  const Tc = Math.max(...rows.map((r) => r.completion.length));
  const inputs: number[][] = [];
  const targets: number[][] = [];
  const completionIndex = new Int32Array(rows.length * Tc);
  const completionMask: number[][] = [];
  let tokens = 0;
  rows.forEach((r, b) => {
    const full = [...r.prompt, ...r.completion];
    tokens += full.length;
    const input = full.slice(0, -1);
    const target = full.slice(1);
    while (input.length < L) {
      input.push(padId);
      target.push(padId);
    }
    inputs.push(input);
    targets.push(target);
    // The first completion token is predicted at position P − 1.
    const start = r.prompt.length - 1;
    const mask: number[] = [];
    for (let t = 0; t < Tc; t++) {
      const valid = t < r.completion.length;
      completionIndex[b * Tc + t] = b * L + (valid ? start + t : start + r.completion.length - 1);
      mask.push(valid ? 1 : 0);
    }
    completionMask.push(mask);
  });
  return {
    rows: rows.length,
    inputs,
    targets,
    completionIndex,
    completionMask,
    completionLength: Tc,
    tokens,
  };
}

/**
 * log π(completion tokens) per row, [B, Tc] (and the per-token entropy with `entropy`), differentiable with respect
 * to the model's trainable variables. A flat gather instead of gather(batchDims = 1): its gradient is the plain
 * UnsortedSegmentSum every backend has.
 */
export function completionLogProbs(
  model: TransformerModel,
  batch: PackedBatch,
  options: { entropy?: boolean; training?: boolean; temperature?: number } = {},
): { logProbs: tf.Tensor2D; entropy?: tf.Tensor2D } {
  return tf.tidy(() => {
    const out = model.logProbsOfTargets(batch.inputs, batch.targets, {
      entropy: options.entropy,
      training: options.training,
      temperature: options.temperature,
    });
    const index = tf.tensor1d(batch.completionIndex, 'int32');
    const pick = (x: tf.Tensor2D): tf.Tensor2D =>
      tf.reshape(tf.gather(tf.reshape(x, [-1]), index), [batch.rows, batch.completionLength]) as tf.Tensor2D; // [B, Tc]
    const logProbs = pick(out.logProbs);
    return out.entropy ? { logProbs, entropy: pick(out.entropy) } : { logProbs };
  });
}
