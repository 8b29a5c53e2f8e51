import * as tf from '@tensorflow/tfjs-core';

import { MASKED } from './ops';

/** Positions 0..T−1 for each of B rows, [B*T]. */
export function rangePositions(B: number, T: number): Int32Array {
  const p = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) p[b * T + t] = t;
  return p;
}

/**
 * Additive causal masks [1, 1, g*T, T] (row r is query r mod T: the g query heads of a KV head folded into rows), one
 * per (T, g), built on first use and kept until `dispose`: training and the reference forward pass reuse them.
 */
export class CausalMasks {
  private readonly masks = new Map<string, tf.Tensor4D>();

  get(T: number, g: number): tf.Tensor4D {
    const key = `${T}:${g}`;
    let m = this.masks.get(key);
    if (!m) {
      const data = new Float32Array(g * T * T);
      for (let r = 0; r < g * T; r++) {
        const t = r % T;
        for (let j = t + 1; j < T; j++) data[r * T + j] = MASKED;
      }
      m = tf.keep(tf.tensor4d(data, [1, 1, g * T, T]));
      this.masks.set(key, m);
    }
    return m;
  }

  dispose(): void {
    for (const m of this.masks.values()) m.dispose();
    this.masks.clear();
  }
}

/**
 * Additive mask [B, 1, g*T, P+T] for T new tokens after P cached columns: cached column j is visible to row b iff
 * valid[b, j]; new column P+i is visible to new query t iff i ≤ t (causal).
 */
export function pastMask(valid: Uint8Array, B: number, P: number, T: number, g: number): tf.Tensor4D {
  const S = P + T;
  const data = new Float32Array(B * g * T * S);
  for (let b = 0; b < B; b++) {
    for (let r = 0; r < g * T; r++) {
      const t = r % T;
      const row = (b * g * T + r) * S;
      for (let j = 0; j < P; j++) if (!valid[b * P + j]) data[row + j] = MASKED;
      for (let i = t + 1; i < T; i++) data[row + P + i] = MASKED;
    }
  }
  return tf.tensor4d(data, [B, 1, g * T, S]);
}

/** Columns the T new tokens of each row may attend to, [B, P + T] int32: the valid cached ones and the new ones. */
export function attendableColumns(valid: Uint8Array, B: number, P: number, T: number): tf.Tensor2D {
  const S = P + T;
  const data = new Int32Array(B * S);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < P; j++) data[b * S + j] = valid[b * P + j];
    data.fill(1, b * S + P, (b + 1) * S);
  }
  return tf.tensor2d(data, [B, S], 'int32');
}
