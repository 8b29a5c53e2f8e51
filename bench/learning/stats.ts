import { mean } from '@tracetune/rl-core';

export { mean };

/** Sample standard deviation (0 for fewer than two values). */
export const sd = (xs: readonly number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

/** Mean of the finite values (NaN when there are none). */
export const finiteMean = (xs: readonly number[]): number => {
  const f = xs.filter(Number.isFinite);
  return f.length ? mean(f) : NaN;
};

// Student's t quantiles by degrees of freedom (1..30); beyond 30 the normal's.
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
const T80 = [
  1.376, 1.061, 0.978, 0.941, 0.92, 0.906, 0.896, 0.889, 0.883, 0.879, 0.876, 0.873, 0.87, 0.868, 0.866,
  0.865, 0.863, 0.862, 0.861, 0.86, 0.859, 0.858, 0.858, 0.857, 0.856, 0.856, 0.855, 0.855, 0.854, 0.854,
];
const quantile = (table: readonly number[], normal: number, df: number): number =>
  df >= 1 && df <= table.length ? table[df - 1] : normal;

/** Mean of paired differences with its two-sided 95 % t-interval (null interval for fewer than two pairs). */
export interface PairedInterval {
  n: number;
  mean: number;
  sd: number;
  low: number | null;
  high: number | null;
  /** The smallest true mean difference detected with 80 % power at the 5 % level, given this sd and n. */
  detectable: number | null;
}

export function pairedInterval(diffs: readonly number[]): PairedInterval {
  const n = diffs.length;
  const m = n ? mean(diffs) : NaN;
  const s = sd(diffs);
  if (n < 2) return { n, mean: m, sd: s, low: null, high: null, detectable: null };
  const se = s / Math.sqrt(n);
  const half = quantile(T975, 1.96, n - 1) * se;
  const detectable = (quantile(T975, 1.96, n - 1) + quantile(T80, 0.842, n - 1)) * se;
  return { n, mean: m, sd: s, low: m - half, high: m + half, detectable };
}

/** Area under a held-out accuracy curve (trapezoids over the evaluation steps), per step: the run's mean accuracy. */
export function auc(steps: readonly number[], values: readonly number[]): number {
  let area = 0;
  for (let i = 1; i < steps.length; i++)
    area += ((values[i] + values[i - 1]) / 2) * (steps[i] - steps[i - 1]);
  const span = steps[steps.length - 1] - steps[0];
  return span > 0 ? area / span : values[0];
}

/** Trailing mean over (up to) 3 points. */
export const smooth3 = (xs: readonly number[]): number[] =>
  xs.map((_, i) => mean(xs.slice(Math.max(0, i - 2), i + 1)));
