import * as tf from '@tensorflow/tfjs-core';

import { Registry } from './registry';
import { coefficientRow, decayScan, halfIndexGather, power, shiftRight } from './scan';

/**
 * How the log-ratio of token k is credited to later positions t: the trace weights tr(t, t−k), their column sums
 * W_k, and the O(T) tensor scan z_t = Σ_{k≤t} tr(t, t−k)·d_k. `grpo` uses the identity credit (tr = [l = 0]).
 */
export interface TokenCredit {
  /** True when tokens share credit (z ≠ d); false for plain GRPO. */
  readonly traced: boolean;
  /** tr(t, lag), floor included: the definition, used by the float64 reference and the T×T benchmark baseline. */
  weight(t: number, lag: number): number;
  /** W_k = Σ_{t ≥ k} tr(t, t−k) for a completion of `length` tokens, float64, O(T) closed form. */
  tokenWeights(length: number): Float64Array;
  /** z [B, T] from d [B, T] (d must be 0 past each completion's end), O(T) work, no T×T matrix. */
  tracedLogRatio(logRatio: tf.Tensor2D): tf.Tensor2D;
}

export interface TraceParams {
  /** c = γ·λ ∈ [0, 1]. */
  decay: number;
  /** traceFloor ∈ [0, 1]. */
  floor: number;
}

/** A trace style: one pure function from its parameters to the credit it gives. */
export type TraceStyle = (params: TraceParams) => TokenCredit;

export const identityCredit: TokenCredit = {
  traced: false,
  weight: (_t, lag) => (lag === 0 ? 1 : 0),
  tokenWeights: (length) => new Float64Array(length).fill(1),
  tracedLogRatio: (logRatio) => logRatio,
};

/**
 * The first lag at which the floor takes over, L = min{l ≥ 1 : c^l < floor} (c^0 = 1 ≥ floor always), or
 * Infinity if c^l never drops below it. For l < L the weight is c^l, for l ≥ L it is `floor`.
 */
export function floorLag(decay: number, floor: number, horizon: number): number {
  if (floor <= 0 || decay >= 1) return Infinity;
  for (let l = 1; l < horizon; l++) if (power(decay, l) < floor) return l;
  return Infinity;
}

/** G_n = Σ_{j<n} max(c^j, floor), n = 0..length, float64. */
function flooredPowerPrefix(decay: number, floor: number, length: number): Float64Array {
  const prefix = new Float64Array(length + 1);
  for (let j = 0; j < length; j++) prefix[j + 1] = prefix[j] + Math.max(power(decay, j), floor);
  return prefix;
}

/** `recent`: tr(t, l) = max(c^l, floor) — the classic eligibility trace z_t = d_t + c·z_{t−1}. */
export const recentTrace: TraceStyle = ({ decay, floor }) => ({
  traced: true,
  weight: (_t, lag) => Math.max(power(decay, lag), floor),
  // W_k = Σ_{l=0}^{T−1−k} max(c^l, floor) = G_{T−k}; without floor, (1 − c^(T−k))/(1 − c).
  tokenWeights: (length) => {
    const prefix = flooredPowerPrefix(decay, floor, length);
    return Float64Array.from({ length }, (_, k) => prefix[length - k]);
  },
  tracedLogRatio: (d) =>
    tf.tidy(() => {
      const length = d.shape[1];
      const scan = decayScan(d, decay); // S_t = Σ_{l≥0} c^l d_{t−l}
      const lag = floorLag(decay, floor, length);
      if (!Number.isFinite(lag)) return scan;
      // Lags < L keep c^l (a window of the scan), lags ≥ L weigh `floor` (a shifted plain prefix sum):
      // z_t = (S_t − c^L·S_{t−L}) + floor·C_{t−L}, C_t = Σ_{k≤t} d_k.
      const cumulative = decayScan(d, 1);
      return tf.add<tf.Tensor2D>(
        tf.sub(scan, tf.mul(shiftRight(scan, lag), power(decay, lag))),
        tf.mul(shiftRight(cumulative, lag), floor),
      );
    }),
});

/**
 * `both`: tr(t, l) = max(c^l, c^(t−l), floor) — a token is credited as recent *or* as early, whichever is larger.
 * Split at m = ⌈t/2⌉ (k ≥ m ⟺ t−k ≤ k): the late half is a window of the recent scan, the early half a prefix
 * sum of max(c^k, floor)·d_k:  z_t = (S_t − c^(⌊t/2⌋+1)·S_{m−1}) + P_{m−1}.
 */
export const bothTrace: TraceStyle = ({ decay, floor }) => ({
  traced: true,
  weight: (t, lag) => Math.max(power(decay, lag), power(decay, t - lag), floor),
  // Column k: t ≤ 2k gives max(c^(t−k), floor) for j = t−k = 0..min(k, T−1−k); t > 2k gives max(c^k, floor).
  tokenWeights: (length) => {
    const prefix = flooredPowerPrefix(decay, floor, length);
    return Float64Array.from(
      { length },
      (_, k) =>
        prefix[Math.min(k, length - 1 - k) + 1] +
        Math.max(0, length - 1 - 2 * k) * Math.max(power(decay, k), floor),
    );
  },
  tracedLogRatio: (d) =>
    tf.tidy(() => {
      const length = d.shape[1];
      const lag = floorLag(decay, floor, length);
      const scan = decayScan(d, decay); // S_t
      const early = decayScan(
        tf.mul(
          d,
          coefficientRow(length, (k) => Math.max(power(decay, k), floor)),
        ),
        1,
      ); // P_k
      const half = (t: number): number => Math.floor(t / 2); // h = ⌊t/2⌋, the largest lag in the late half
      // Late half, lags 0..h: Σ_{l ≤ min(h, L−1)} c^l d_{t−l} + floor·Σ_{L ≤ l ≤ h} d_{t−l}.
      // While h < L this is S_t − c^(h+1)·S_{m−1}; once h ≥ L it is S_t − c^L·S_{t−L} + floor·(C_{t−L} − C_{m−1}).
      const windowStart = coefficientRow(length, (t) => (half(t) < lag ? power(decay, half(t) + 1) : 0));
      // One gather for both tensors: stacked along the batch axis (contiguous, so concat and slice are cheap).
      const batch = d.shape[0];
      const halves = halfIndexGather(tf.concat([scan, early], 0)); // [2B, T]
      const scanHalf = tf.slice(halves, [0, 0], [batch, length]); // S_{m−1}
      const earlyHalf = tf.slice(halves, [batch, 0], [batch, length]); // P_{m−1}
      let z: tf.Tensor2D = tf.add(tf.sub(scan, tf.mul(scanHalf, windowStart)), earlyHalf);
      if (Number.isFinite(lag) && half(length - 1) >= lag) {
        const cumulative = decayScan(d, 1); // C_t
        const floorOn = (t: number): boolean => half(t) >= lag;
        const lagged = coefficientRow(length, (t) => (floorOn(t) ? power(decay, lag) : 0));
        const floored = coefficientRow(length, (t) => (floorOn(t) ? floor : 0));
        z = tf.sub(z, tf.mul(shiftRight(scan, lag), lagged));
        z = tf.add(z, tf.mul(tf.sub(shiftRight(cumulative, lag), halfIndexGather(cumulative)), floored));
      }
      return z;
    }),
});

export const traceStyles = new Registry<TraceStyle>('trace style')
  .register('recent', recentTrace)
  .register('both', bothTrace);
