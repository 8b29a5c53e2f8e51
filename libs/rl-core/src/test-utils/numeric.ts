import * as tf from '@tensorflow/tfjs-core';

import '@tensorflow/tfjs-backend-cpu';

/** Tests run on the plain `cpu` backend; the library itself never picks one. */
export async function useCpuBackend(): Promise<void> {
  // tfjs's own switch for test runs: silences the "install the node backend" advice.
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/** |actual − expected| ≤ abs + rel·|expected|, element by element, with a readable failure. */
export function expectClose(actual: number, expected: number, rel: number, abs = 0, what = 'value'): void {
  const error = Math.abs(actual - expected);
  if (!(error <= abs + rel * Math.abs(expected))) {
    throw new Error(
      `${what}: got ${actual}, expected ${expected} (error ${error}, allowed ${abs + rel * Math.abs(expected)})`,
    );
  }
}

export function expectAllClose(
  actual: readonly number[],
  expected: readonly number[],
  rel: number,
  abs = 0,
  what = 'vector',
): void {
  if (actual.length !== expected.length)
    throw new Error(`${what}: length ${actual.length} ≠ ${expected.length}`);
  actual.forEach((a, i) => expectClose(a, expected[i], rel, abs, `${what}[${i}]`));
}

/** Largest |x|, the scale for float32 comparisons of vectors whose entries may cross zero. */
export function maxAbs(values: readonly number[]): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}

/** mulberry32: a small seeded generator, so every "random" test is reproducible. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Central finite differences of f at x, step h. */
export function centralDifferences(f: (x: number[]) => number, x: readonly number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const plus = [...x];
    const minus = [...x];
    plus[i] += h;
    minus[i] -= h;
    return (f(plus) - f(minus)) / (2 * h);
  });
}
