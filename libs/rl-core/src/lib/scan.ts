import * as tf from '@tensorflow/tfjs-core';

/**
 * O(T) building blocks for eligibility traces in tfjs, which has no native scan.
 *
 * `decayScan` computes S_t = x_t + c·S_{t−1} with a *blocked* scan: inside blocks of K tokens one matmul with the
 * K×K matrix M[j, i] = c^(i−j) (j ≤ i); the block ends are scanned recursively with decay c^K; each block then adds
 * c^(i+1) × (S at the end of the previous block). Work is O(B·T·K) = O(T) for fixed K, and every power used is
 * c^j with 0 ≤ j ≤ K (never c^(−t)), so nothing overflows or cancels catastrophically in float32.
 */

/** Default block length K: large enough for few recursion levels, small enough that the K×K matmul is cheap. */
export const SCAN_BLOCK = 64;

/** c^n in float64 with the spec's convention 0^0 = 1 (Math.pow agrees). */
export function power(c: number, n: number): number {
  return Math.pow(c, n);
}

/** M[j, i] = c^(i−j) for j ≤ i, else 0, so that (x @ M)_i = Σ_{j ≤ i} c^(i−j) x_j. */
function scanMatrix(size: number, decay: number): tf.Tensor2D {
  const values = new Float32Array(size * size);
  for (let j = 0; j < size; j++) {
    for (let i = j; i < size; i++) values[j * size + i] = power(decay, i - j);
  }
  return tf.tensor2d(values, [size, size]);
}

/** S_t = x_t + decay·S_{t−1} along axis 1 (S_{−1} = 0). x: [B, T] → [B, T]. */
export function decayScan(x: tf.Tensor2D, decay: number, block = SCAN_BLOCK): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, length] = x.shape;
    if (length <= block) return tf.matMul(x, scanMatrix(length, decay)) as tf.Tensor2D; // [B, T]
    const blocks = Math.ceil(length / block);
    const padded = blocks * block;
    const xp: tf.Tensor2D =
      padded > length
        ? tf.pad(x, [
            [0, 0],
            [0, padded - length],
          ])
        : x; // [B, nb·K]
    const local = tf.matMul(tf.reshape(xp, [batch * blocks, block]), scanMatrix(block, decay)); // [B·nb, K]
    const ends = tf.reshape(tf.slice(local, [0, block - 1], [batch * blocks, 1]), [
      batch,
      blocks,
    ]) as tf.Tensor2D; // [B, nb]
    const endScan = decayScan(ends, power(decay, block), block); // [B, nb]: S at each block's last token
    const carry = tf.reshape(shiftRight(endScan, 1), [batch * blocks, 1]); // [B·nb, 1]: S before each block
    const carryPowers = new Float32Array(block);
    for (let i = 0; i < block; i++) carryPowers[i] = power(decay, i + 1);
    // carry ⊗ (c^1 … c^K) as a K = 1 matmul: broadcasting multiplies are slow on the cpu backend.
    const carried = tf.matMul(carry, tf.tensor2d(carryPowers, [1, block])); // [B·nb, K]
    const full = tf.reshape(tf.add(local, carried), [batch, padded]) as tf.Tensor2D; // [B, nb·K]
    return padded > length ? (tf.slice(full, [0, 0], [batch, length]) as tf.Tensor2D) : full; // [B, T]
  });
}

/** y_t = x_{t−k} (0 for t < k) along axis 1; [B, T] → [B, T]. */
export function shiftRight(x: tf.Tensor2D, k: number): tf.Tensor2D {
  const [batch, length] = x.shape;
  if (k === 0) return x;
  if (k >= length) return tf.zerosLike(x);
  return tf.tidy(
    () =>
      tf.pad(tf.slice(x, [0, 0], [batch, length - k]), [
        [0, 0],
        [k, 0],
      ]) as tf.Tensor2D,
  );
}

/**
 * y_t = x_{⌈t/2⌉−1} (0 at t = 0) along axis 1, the "first half" index of the `both` trace, without gather (whose
 * gradient, UnsortedSegmentSum, the wasm backend lacks): repeat every element twice, shift right by one, cut to T.
 */
export function halfIndexGather(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, length] = x.shape;
    // A K = 1 matmul with ones, not stack/concat/broadcasting: the cheapest forward and backward on wasm and cpu.
    const pairs = tf.matMul(tf.reshape(x, [batch * length, 1]), tf.ones([1, 2])); // [B·T, 2]
    const repeated = tf.reshape(pairs, [batch, 2 * length]); // [B, 2T]: x0 x0 x1 x1 …
    return tf.slice(
      tf.pad(repeated, [
        [0, 0],
        [1, 0],
      ]),
      [0, 0],
      [batch, length],
    ) as tf.Tensor2D; // [B, T]: 0 x0 x0 x1 x1 …
  });
}

/** A [1, T] row of host-computed float64 coefficients, rounded once to float32. */
export function coefficientRow(length: number, coefficient: (t: number) => number): tf.Tensor2D {
  const values = new Float32Array(length);
  for (let t = 0; t < length; t++) values[t] = coefficient(t);
  return tf.tensor2d(values, [1, length]);
}
