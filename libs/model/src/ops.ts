import * as tf from '@tensorflow/tfjs-core';

import type { RopeScaling } from './config';

/**
 * Matrix products used throughout the model. The wasm backend's BatchMatMul is fast (XNNPACK) only with no
 * transpose flags, and tfjs' default gradients of matMul use transposed forms that run 5–16× slower there. These
 * helpers have custom gradients that transpose explicitly and then multiply plainly:
 *   y = a·b  ⇒  da = dy·bᵀ,  db = aᵀ·dy   (both computed as transpose() followed by a flag-free matMul).
 */
const matMul2d = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
});

/**
 * [B, M, K]·[B, K, N] without transpose flags. On wasm, BatchMatMul with B > 1 runs at ≈1–2 GFLOP/s while 2-D
 * products reach 15–30 (XNNPACK), so there the batch is unstacked into B plain matmuls and restacked; other backends
 * (cpu, tfjs-node, CUDA) get one batched call.
 */
function plainBatchedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [batch, m, k] = a.shape;
  // Tiny products (decode steps) are dominated by per-op overhead: one batched call beats B+2 ops there.
  if (batch === 1 || m * k * b.shape[2] < SPLIT_MIN_WORK || tf.getBackend() !== 'wasm')
    return tf.matMul(a, b);
  // split (not unstack: its Unpack kernel is ~2× slower on wasm) keeps [1, M, K] pieces, batch-1 products are fast.
  const bs = tf.split(b, batch, 0);
  return tf.concat(
    tf.split(a, batch, 0).map((x, i) => tf.matMul(x as tf.Tensor3D, bs[i] as tf.Tensor3D)),
    0,
  );
}

const matMul3d = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: plainBatchedMatMul(a as tf.Tensor3D, b as tf.Tensor3D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor3D, tf.Tensor3D];
      return [
        plainBatchedMatMul(dy as tf.Tensor3D, tf.transpose(sb, [0, 2, 1])),
        plainBatchedMatMul(tf.transpose(sa, [0, 2, 1]), dy as tf.Tensor3D),
      ];
    },
  };
});

/** Multiply-adds per batch entry above which wasm batched matmuls are split into 2-D ones (measured crossover ≈ 64k). */
const SPLIT_MIN_WORK = 1 << 16;

/**
 * Whether a gradient tape is recording. Outside of tf.grad/variableGrads (sampling, evaluation) the helpers call
 * tf.matMul directly: a custom-gradient wrapper costs several extra kernel dispatches per product, which dominate
 * decode steps of small models.
 */
function recording(): boolean {
  return tf.engine().state.gradientDepth > 0;
}

/** [M, K] · [K, N] → [M, N] with transpose-free gradients. */
export function matmul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return recording() ? (matMul2d(a, b) as tf.Tensor2D) : tf.matMul(a, b);
}

/**
 * x·W₁, x·W₂, … for projections sharing one input (q/k/v, gate/up). While training they run as one product with the
 * weights concatenated, x·[W₁|W₂|…], then a column split: one bigger matmul and, in the backward pass, one transpose
 * of x instead of one per projection. (The split is cheap only with the wasm Slice fix in wasm-kernels.ts.)
 * At inference the separate products avoid re-concatenating weights every step.
 */
export function matmulShared(x: tf.Tensor2D, weights: tf.Tensor2D[]): tf.Tensor2D[] {
  if (!recording() || weights.length === 1) return weights.map((w) => matmul(x, w));
  const fused = matmul(x, tf.concat(weights, 1)); // [N, ΣMᵢ]
  return tf.split(
    fused,
    weights.map((w) => w.shape[1]),
    1,
  );
}

/** [B, M, K] · [B, K, N] → [B, M, N] with transpose-free gradients. */
export function bmm(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return recording() ? (matMul3d(a, b) as tf.Tensor3D) : plainBatchedMatMul(a, b);
}

/**
 * [B, M, K] · [B, N, K]ᵀ → [B, M, N] (attention scores against cached keys). Small products outside a gradient tape
 * (decode steps) use the kernel's transposeB flag, which skips materialising the transposed keys: on wasm that copy
 * cost more than the product itself (≈ 1 ms vs 0.3 ms for [32, 107, 32] keys). Larger or recorded products take the
 * transpose-then-bmm path (split into fast 2-D products on wasm, transpose-free gradients).
 */
export function bmmTransposeB(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [, m, k] = a.shape;
  if (!recording() && m * k * b.shape[1] < SPLIT_MIN_WORK) return tf.matMul(a, b, false, true);
  return bmm(a, tf.transpose(b, [0, 2, 1]) as tf.Tensor3D);
}

/**
 * logsumexp over the last axis with the analytic gradient d lse / dx = softmax(x). tf.logSumExp's composed gradient
 * goes through max's (an Equal mask over the whole [N, V] logits), which costs a few % of a train step.
 */
const logSumExpLast = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const value = tf.logSumExp(x, -1);
  save([x, value]);
  return {
    value,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, lse] = saved;
      return [tf.mul(tf.expandDims(dy, -1), tf.exp(tf.sub(sx, tf.expandDims(lse, -1))))];
    },
  };
});

/** log Σ exp(x) over the last axis: [N, V] → [N]. */
export function logSumExp(x: tf.Tensor2D): tf.Tensor1D {
  return (recording() ? logSumExpLast(x) : tf.logSumExp(x, -1)) as tf.Tensor1D;
}

/** RMSNorm (Zhang & Sennrich 2019; HF LlamaRMSNorm): x / sqrt(mean(x²) + eps) · w over the last axis. */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor1D, eps: number): T {
  const ms = tf.mean(tf.mul(x, x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight) as T;
}

/** SiLU(x) = x·σ(x) (the "swish" of SwiGLU). */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/**
 * HF `rotate_half` as a [D, D] matrix R so that rotate_half(x) = x·R, one flag-free matmul instead of two slices,
 * a negation and a concat: rotate_half(x) = concat(−x[D/2:], x[:D/2]), so column j < D/2 takes −x[j + D/2] and
 * column j ≥ D/2 takes x[j − D/2].
 */
export function rotateHalfMatrix(d: number): Float32Array {
  const h = d / 2;
  const r = new Float32Array(d * d);
  for (let j = 0; j < h; j++) r[(j + h) * d + j] = -1;
  for (let j = h; j < d; j++) r[(j - h) * d + j] = 1;
  return r;
}

/** yarn's interpolation ramp (transformers' `_compute_yarn_parameters`). */
function yarnInverseFrequencies(
  d: number,
  theta: number,
  r: RopeScaling,
  maxPositions: number,
): Float64Array {
  const h = d / 2;
  const original = r.original_max_position_embeddings ?? maxPositions;
  const correction = (rotations: number) =>
    (d * Math.log(original / (rotations * 2 * Math.PI))) / (2 * Math.log(theta));
  const low = Math.max(Math.floor(correction(r.beta_fast ?? 32)), 0);
  let high = Math.min(Math.ceil(correction(r.beta_slow ?? 1)), d - 1);
  if (low === high) high += 0.001;
  const inv = new Float64Array(h);
  for (let i = 0; i < h; i++) {
    const base = Math.fround(Math.pow(theta, (2 * i) / d));
    const extrapolation = 1 - Math.min(Math.max((i - low) / (high - low), 0), 1);
    inv[i] = (1 / (r.factor * base)) * (1 - extrapolation) + (1 / base) * extrapolation;
  }
  return inv;
}

/** Llama 3.x frequency scaling: long wavelengths divided by the factor, short ones kept, a smooth ramp between. */
function llama3InverseFrequencies(inv: Float64Array, r: RopeScaling): Float64Array {
  const original = r.original_max_position_embeddings as number;
  const low = r.low_freq_factor as number;
  const high = r.high_freq_factor as number;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < original / high) return f;
    if (wavelen > original / low) return f / r.factor;
    const smooth = (original / wavelen - low) / (high - low);
    return (1 - smooth) * (f / r.factor) + smooth * f;
  });
}

/**
 * RoPE's inverse frequencies θ^(−2i/d), with `rope_scaling` applied as transformers does (linear, llama3, yarn), and
 * the factor yarn multiplies cos and sin by (1 otherwise).
 */
export function ropeFrequencies(
  d: number,
  theta: number,
  scaling: RopeScaling | null = null,
  maxPositions = 0,
): { invFreq: Float64Array; attentionFactor: number } {
  const plain = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) plain[i] = 1 / Math.pow(theta, (2 * i) / d);
  switch (scaling?.rope_type) {
    case undefined:
      return { invFreq: plain, attentionFactor: 1 };
    case 'linear':
      return { invFreq: plain.map((f) => f / scaling.factor), attentionFactor: 1 };
    case 'llama3':
      return { invFreq: llama3InverseFrequencies(plain, scaling), attentionFactor: 1 };
    case 'yarn':
      return {
        invFreq: yarnInverseFrequencies(d, theta, scaling, maxPositions),
        attentionFactor:
          scaling.attention_factor ?? (scaling.factor <= 1 ? 1 : 0.1 * Math.log(scaling.factor) + 1),
      };
  }
}

/**
 * cos/sin tables [N, d] for the given positions, HF's `rotate_half` layout (the d/2 frequencies repeated), float32
 * products as in torch; `scaling` as in `ropeFrequencies`.
 */
export function ropeTables(
  positions: ArrayLike<number>,
  d: number,
  theta: number,
  scaling: RopeScaling | null = null,
  maxPositions = 0,
): { cos: Float32Array; sin: Float32Array } {
  const h = d / 2;
  const cos = new Float32Array(positions.length * d);
  const sin = new Float32Array(positions.length * d);
  const { invFreq, attentionFactor } = ropeFrequencies(d, theta, scaling, maxPositions);
  for (let p = 0; p < positions.length; p++) {
    for (let i = 0; i < h; i++) {
      const a = Math.fround(positions[p] * Math.fround(invFreq[i]));
      const c = Math.cos(a) * attentionFactor;
      const s = Math.sin(a) * attentionFactor;
      cos[p * d + i] = c;
      cos[p * d + i + h] = c;
      sin[p * d + i] = s;
      sin[p * d + i + h] = s;
    }
  }
  return { cos, sin };
}

/** The additive value of a masked attention score (finite, so that a fully masked row never produces NaN). */
export const MASKED = -1e9;
