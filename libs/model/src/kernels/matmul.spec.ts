import * as tf from '@tensorflow/tfjs-core';

import { useBackend } from '../../test/helpers';
import { Rng } from '../rng';
import { packedMatMul, packedMatMulAvailable, packWeight } from './matmul';

function random(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** a [M, K] · w [K, N] in float64: the reference the kernel is held to. */
function reference(a: Float32Array, w: Float32Array, M: number, K: number, N: number): Float64Array {
  const out = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) out[m * N + n] += a[m * K + k] * w[k * N + n];
  return out;
}

describe('packed matmul kernel (wasm)', () => {
  beforeAll(() => useBackend('wasm'));

  it('should pack a weight in zero-padded panels of eight columns', () => {
    const w = tf.tensor2d(
      Float32Array.from({ length: 2 * 10 }, (_, i) => i + 1),
      [2, 10],
    );
    const packed = packWeight(w);
    expect(packed.columns).toBe(10);
    expect(packed.panels.shape).toEqual([2, 2, 8]);
    // Panel 0: columns 0–7 of rows 0 and 1; panel 1: columns 8–9 then zeros.
    expect(Array.from(packed.panels.dataSync())).toEqual([
      ...[1, 2, 3, 4, 5, 6, 7, 8],
      ...[11, 12, 13, 14, 15, 16, 17, 18],
      ...[9, 10, 0, 0, 0, 0, 0, 0],
      ...[19, 20, 0, 0, 0, 0, 0, 0],
    ]);
    tf.dispose([w, packed.panels]);
  });

  it('should pack a transposed weight (Wᵀ [N, K]) as it packs W', () => {
    tf.tidy(() => {
      const w = tf.tensor2d(
        Float32Array.from({ length: 5 * 11 }, (_, i) => i - 20),
        [5, 11],
      );
      expect(Array.from(packWeight(tf.transpose(w) as tf.Tensor2D, true).panels.dataSync())).toEqual(
        Array.from(packWeight(w).panels.dataSync()),
      );
      expect(packWeight(tf.transpose(w) as tf.Tensor2D, true).columns).toBe(11);
    });
  });

  // Rows: one, two (a pair), three (a pair and one), whole groups of four, 1–3 left over (an overlapping last tile);
  // columns: whole panels, a partial last panel, fewer than one panel.
  it.each([
    [1, 1, 1],
    [1, 192, 576],
    [2, 5, 9],
    [3, 7, 5],
    [4, 16, 8],
    [5, 9, 13],
    [6, 10, 16],
    [7, 12, 9],
    [9, 33, 261],
    [16, 192, 1024],
    [17, 64, 20],
  ])('should compute a [%i, %i] · [·, %i] product like a float64 reference', (M, K, N) => {
    const rng = new Rng(M * 1000 + K * 10 + N);
    const a = random(M * K, rng);
    const wData = random(K * N, rng);
    const x = tf.tensor2d(a, [M, K]);
    const w = tf.tensor2d(wData, [K, N]);
    const packed = packWeight(w);
    const before = tf.memory().numTensors;
    const got = packedMatMul(x, packed);
    expect(got.shape).toEqual([M, N]);
    const out = got.dataSync();
    const want = reference(a, wData, M, K, N);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(out[i] - want[i]) / Math.sqrt(K));
    expect(worst).toBeLessThan(1e-5);
    got.dispose();
    expect(tf.memory().numTensors).toBe(before); // the kernel's scratch is released
    tf.dispose([x, w, packed.panels]);
  });

  it('should give empty and all-zero products for empty operands', () => {
    tf.tidy(() => {
      const none = packedMatMul(tf.zeros([0, 4]) as tf.Tensor2D, packWeight(tf.zeros([4, 3]) as tf.Tensor2D));
      expect(none.shape).toEqual([0, 3]);
      const zeros = packedMatMul(tf.ones([2, 0]) as tf.Tensor2D, packWeight(tf.zeros([0, 3]) as tf.Tensor2D));
      expect(Array.from(zeros.dataSync())).toEqual([0, 0, 0, 0, 0, 0]);
    });
  });

  it('should reject an input whose width is not the weight height', () => {
    tf.tidy(() => {
      const packed = packWeight(tf.ones([4, 8]) as tf.Tensor2D);
      expect(() => packedMatMul(tf.ones([2, 5]) as tf.Tensor2D, packed)).toThrow(
        /does not fit panels \[1,4,8\] of 8 columns/,
      );
    });
  });

  it('should be available on wasm only', async () => {
    expect(packedMatMulAvailable()).toBe(true);
    await useBackend('cpu');
    expect(packedMatMulAvailable()).toBe(false);
    await useBackend('wasm');
  });
});
