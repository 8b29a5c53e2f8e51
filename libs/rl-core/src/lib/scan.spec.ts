import * as tf from '@tensorflow/tfjs-core';

import { expectAllClose, maxAbs, seededRandom, useCpuBackend } from '../test-utils/numeric';
import { bothTrace, floorLag, recentTrace } from './credit';
import { decayScan, halfIndexGather, shiftRight } from './scan';

beforeAll(useCpuBackend);

/** The scan written as its recurrence, float64. */
function loopScan(x: number[], c: number): number[] {
  const out: number[] = [];
  x.forEach((v, t) => out.push(v + (t > 0 ? c * out[t - 1] : 0)));
  return out;
}

function randomRow(seed: number, length: number): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length }, () => rand() - 0.5);
}

describe('decayScan', () => {
  it('should compute S_t = x_t + c·S_{t−1} for a hand example', () => {
    // c = 0.5, x = [1, 2, 3]: S = [1, 2 + 0.5, 3 + 1.25] = [1, 2.5, 4.25].
    expectAllClose(Array.from(decayScan(tf.tensor2d([[1, 2, 3]]), 0.5).dataSync()), [1, 2.5, 4.25], 1e-7);
  });

  it.each([
    [0, 5],
    [0.5, 64],
    [0.99, 65],
    [0.99, 300],
    [1, 1000],
    [0.9999, 4200],
  ])('should match the recurrence for c = %f, T = %i (blocks, partial blocks, recursion levels)', (c, T) => {
    const rows = [randomRow(T, T), randomRow(T + 1, T)];
    const scanned = decayScan(tf.tensor2d(rows), c, 16).arraySync();
    rows.forEach((row, b) => {
      const expected = loopScan(row, c);
      // float32: error relative to the largest partial sum (sums of T terms of size ≤ 0.5).
      expectAllClose(scanned[b], expected, 0, 2e-6 * Math.max(1, maxAbs(expected)) * Math.log2(T + 2));
    });
  });
});

describe('index helpers', () => {
  it('should shift right with zeros and pick x_{⌈t/2⌉−1}', () => {
    const x = tf.tensor2d([[1, 2, 3, 4, 5]]);
    expect(Array.from(shiftRight(x, 2).dataSync())).toEqual([0, 0, 1, 2, 3]);
    expect(Array.from(shiftRight(x, 7).dataSync())).toEqual([0, 0, 0, 0, 0]);
    // t = 0..4 → ⌈t/2⌉ − 1 = −1, 0, 0, 1, 1.
    expect(Array.from(halfIndexGather(x).dataSync())).toEqual([0, 1, 1, 2, 2]);
  });
});

describe('trace styles', () => {
  /** z_t = Σ_{k≤t} tr(t, t−k)·d_k by the definition, O(T²). */
  function definitionTrace(weight: (t: number, lag: number) => number, d: number[]): number[] {
    return d.map((_, t) => d.slice(0, t + 1).reduce((s, dk, k) => s + weight(t, t - k) * dk, 0));
  }

  it.each([
    ['recent', 0.99, 0],
    ['recent', 0.7, 0.1],
    ['recent', 0, 0.5],
    ['both', 0.99, 0],
    ['both', 0.9, 0.2],
    ['both', 0.5, 0.01],
    ['both', 0, 0],
    ['both', 1, 0.3],
  ] as const)('should scan the %s trace (c = %f, floor = %f) like its definition', (style, decay, floor) => {
    const credit = (style === 'recent' ? recentTrace : bothTrace)({ decay, floor });
    const T = 150;
    const d = randomRow(42, T);
    const z = Array.from(credit.tracedLogRatio(tf.tensor2d([d])).dataSync());
    const expected = definitionTrace(credit.weight, d);
    expectAllClose(z, expected, 0, 1e-5 * Math.max(1, maxAbs(expected)));
  });

  it('should give the closed forms of W_k stated in the spec', () => {
    // recent: W_k = (1 − c^(T−k))/(1 − c); both: Σ_{j=0}^{min(k, T−1−k)} c^j + max(0, T−1−2k)·c^k.
    const c = 0.9;
    const T = 9;
    const recent = recentTrace({ decay: c, floor: 0 }).tokenWeights(T);
    const both = bothTrace({ decay: c, floor: 0 }).tokenWeights(T);
    for (let k = 0; k < T; k++) {
      expect(recent[k]).toBeCloseTo((1 - Math.pow(c, T - k)) / (1 - c), 12);
      let head = 0;
      for (let j = 0; j <= Math.min(k, T - 1 - k); j++) head += Math.pow(c, j);
      expect(both[k]).toBeCloseTo(head + Math.max(0, T - 1 - 2 * k) * Math.pow(c, k), 12);
    }
    // c = 1: recent W_k = T − k.
    expect(Array.from(recentTrace({ decay: 1, floor: 0 }).tokenWeights(4))).toEqual([4, 3, 2, 1]);
  });

  it('should give W_k = Σ_t tr(t, t−k) with a floor', () => {
    for (const style of [recentTrace, bothTrace]) {
      const credit = style({ decay: 0.8, floor: 0.25 });
      const T = 12;
      const W = credit.tokenWeights(T);
      for (let k = 0; k < T; k++) {
        let sum = 0;
        for (let t = k; t < T; t++) sum += credit.weight(t, t - k);
        expect(W[k]).toBeCloseTo(sum, 12);
      }
    }
  });

  it('should find the lag where the floor takes over', () => {
    // 0.5^1 = 0.5 ≥ 0.3, 0.5^2 = 0.25 < 0.3 → L = 2; no floor or c = 1 → never.
    expect(floorLag(0.5, 0.3, 100)).toBe(2);
    expect(floorLag(0.5, 0, 100)).toBe(Infinity);
    expect(floorLag(1, 0.3, 100)).toBe(Infinity);
    expect(floorLag(0, 0.3, 100)).toBe(1);
  });

  it('should stay accurate in float32 at T = 8192 for the both window (no negative powers)', () => {
    // c = 0.99 and c = 0.9999 (S_t grows to ~T·|d|, the worst cancellation in S_t − c^(h+1)·S_{m−1}).
    for (const decay of [0.99, 0.9999]) {
      const credit = bothTrace({ decay, floor: 0 });
      const T = 8192;
      const d = randomRow(decay * 1e4, T).map((v) => 0.1 * v);
      const z = credit.tracedLogRatio(tf.tensor2d([d])).dataSync();
      // Definition evaluated at a few positions only (each is O(t)).
      for (const t of [0, 1, 2, 1000, 4095, 4096, 8191]) {
        let expected = 0;
        for (let k = 0; k <= t; k++) expected += credit.weight(t, t - k) * d[k];
        expect(Math.abs(z[t] - expected)).toBeLessThan(2e-5);
      }
    }
  });
});
