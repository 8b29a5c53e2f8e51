import type { MetricRow } from './api';
import { alignRuns, mergeRows, metricNames, xValues } from './metrics';

const row = (step: number, metrics: Record<string, number>): MetricRow => ({ step, metrics, created_at: 0 });

describe('metricNames', () => {
  it('should list headline metrics first in a fixed order, then the rest alphabetically, without step', () => {
    const rows = [row(1, { zeta: 1, kl: 0.1, step: 1, reward: 0.5 }), row(2, { alpha: 2, accuracy: 0.3 })];
    expect(metricNames(rows)).toEqual(['reward', 'accuracy', 'kl', 'alpha', 'zeta']);
  });
});

describe('mergeRows', () => {
  it('should append newer steps and replace a step that arrives again', () => {
    const merged = mergeRows([row(1, { r: 1 }), row(2, { r: 2 })], [row(3, { r: 3 })]);
    expect(merged.map((r) => r.step)).toEqual([1, 2, 3]);
    const replayed = mergeRows(merged, [row(2, { r: 20 }), row(4, { r: 4 })]);
    expect(replayed.map((r) => [r.step, r.metrics['r']])).toEqual([
      [1, 1],
      [2, 20],
      [3, 3],
      [4, 4],
    ]);
  });
});

describe('alignRuns', () => {
  it('should share one x axis, with nulls where a run has no point', () => {
    const a = [row(1, { reward: 0.1 }), row(2, { reward: 0.2 }), row(3, { reward: 0.3 })];
    const b = [row(2, { reward: 0.5 }), row(4, { reward: 0.7 })];
    expect(alignRuns([a, b], 'reward', 'step')).toEqual({
      x: [1, 2, 3, 4],
      values: [
        [0.1, 0.2, 0.3, null],
        [null, 0.5, null, 0.7],
      ],
    });
  });

  it('should align by the logged running total of sampled tokens, falling back to the step for runs without them', () => {
    const a = [
      row(1, { reward: 0.1, sampled_tokens: 100, sampled_tokens_total: 100 }),
      row(2, { reward: 0.2, sampled_tokens: 150, sampled_tokens_total: 250 }),
    ];
    const b = [row(1, { reward: 0.4 })];
    expect(alignRuns([a, b], 'reward', 'sampled_tokens')).toEqual({
      x: [1, 100, 250],
      values: [
        [null, 0.1, 0.2],
        [0.4, null, null],
      ],
    });
  });

  it('should sum per-step sampled tokens into a monotonic axis when a run has no running total', () => {
    const a = [
      row(1, { sampled_tokens: 90 }),
      row(2, { sampled_tokens: 40 }),
      row(3, { sampled_tokens: 70 }),
    ];
    expect(xValues(a, 'sampled_tokens')).toEqual([90, 130, 200]);
  });

  it('should measure wall time from the first row', () => {
    const a = [1000, 1004, 1010].map((t, i) => ({ ...row(i + 1, {}), created_at: t }));
    expect(xValues(a, 'wall_time')).toEqual([0, 4, 10]);
  });

  it('should skip rows that lack the chosen metric', () => {
    const a = [row(1, { reward: 0.1 }), row(10, { reward: 0.5, eval_accuracy: 0.4 })];
    expect(alignRuns([a], 'eval_accuracy', 'step')).toEqual({ x: [10], values: [[0.4]] });
  });
});
