import { mean } from '@tracetune/rl-core';

export { mean };

/** Sample standard deviation (0 for fewer than two values). */
export const sd = (xs: readonly number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};

/** Trailing mean over (up to) 3 points. */
export const smooth3 = (xs: readonly number[]): number[] =>
  xs.map((_, i) => mean(xs.slice(Math.max(0, i - 2), i + 1)));
