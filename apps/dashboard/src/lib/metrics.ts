import type { MetricRow } from './api';

/** The order the run page shows charts in: the headline numbers first, then everything else alphabetically. */
const PREFERRED = [
  'reward',
  'accuracy',
  'eval_reward',
  'eval_accuracy',
  'kl',
  'entropy',
  'clip_ratio',
  'completions/mean_length',
  'completions/clipped_ratio',
  'reward_std',
  'frac_reward_zero_std',
  'policy_loss',
  'loss',
  'grad_norm',
  'learning_rate',
  'tokens_per_second',
  'step_time',
  'grader_errors',
];

/** Every numeric metric present in any row, in display order (`step` itself is the x axis, not a chart). */
export function metricNames(rows: readonly MetricRow[]): string[] {
  const names = new Set<string>();
  for (const row of rows) {
    for (const [name, value] of Object.entries(row.metrics))
      if (typeof value === 'number' && name !== 'step') names.add(name);
  }
  const rank = (name: string) => {
    const index = PREFERRED.indexOf(name);
    return index === -1 ? PREFERRED.length : index;
  };
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Merges rows by step (a later row for a step replaces the earlier one) and keeps them in step order. */
export function mergeRows(existing: readonly MetricRow[], incoming: readonly MetricRow[]): MetricRow[] {
  if (incoming.length === 0) return existing as MetricRow[];
  const last = existing[existing.length - 1];
  // The common live case: strictly newer steps, appended without re-sorting thousands of rows.
  if (!last || incoming.every((row, i) => row.step > (i === 0 ? last.step : incoming[i - 1].step)))
    return [...existing, ...incoming];
  const byStep = new Map(existing.map((row) => [row.step, row]));
  for (const row of incoming) byStep.set(row.step, row);
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export type XAxis = 'step' | 'sampled_tokens';

/** The x value of a row: its step, or the cumulative sampled tokens when the run reports them (else its step). */
export function xOf(row: MetricRow, axis: XAxis): number {
  const tokens = row.metrics['sampled_tokens'];
  return axis === 'sampled_tokens' && typeof tokens === 'number' ? tokens : row.step;
}

/**
 * Aligns several runs on one x axis for overlaying: the union of their x values, each run null where it has no
 * point (uPlot draws across the gaps). [runs] → { x: [X], values: [runs][X] }
 */
export function alignRuns(
  runs: readonly (readonly MetricRow[])[],
  metric: string,
  axis: XAxis,
): { x: number[]; values: (number | null)[][] } {
  const xs = new Set<number>();
  const perRun = runs.map((rows) => {
    const points = new Map<number, number>();
    for (const row of rows) {
      const value = row.metrics[metric];
      if (typeof value !== 'number') continue;
      const x = xOf(row, axis);
      points.set(x, value);
      xs.add(x);
    }
    return points;
  });
  const x = [...xs].sort((a, b) => a - b);
  return { x, values: perRun.map((points) => x.map((at) => points.get(at) ?? null)) };
}
