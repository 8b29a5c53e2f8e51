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

export type XAxis = 'step' | 'sampled_tokens' | 'wall_time';

export const X_AXES: readonly { value: XAxis; label: string }[] = [
  { value: 'step', label: 'step' },
  { value: 'sampled_tokens', label: 'sampled tokens' },
  { value: 'wall_time', label: 'wall time (s)' },
];

export function parseAxis(value: string | null): XAxis {
  return X_AXES.find((a) => a.value === value)?.value ?? 'step';
}

/**
 * The x value of every row (in step order): its step; the cumulative sampled tokens (`sampled_tokens_total`, or the
 * running sum of the per-step `sampled_tokens` for runs logged before the total existed; the step when a run reports
 * neither); or the seconds since the run's first row.
 */
export function xValues(rows: readonly MetricRow[], axis: XAxis): number[] {
  if (axis === 'wall_time') return rows.map((row) => row.created_at - (rows[0]?.created_at ?? 0));
  if (axis === 'step' || !rows.some((row) => typeof row.metrics['sampled_tokens'] === 'number'))
    return rows.map((row) => row.step);
  let sum = 0;
  return rows.map((row) => {
    const total = row.metrics['sampled_tokens_total'];
    sum = typeof total === 'number' ? total : sum + (row.metrics['sampled_tokens'] ?? 0);
    return sum;
  });
}

/** Whether any of the runs reports sampled tokens (else the sampled-tokens axis falls back to steps). */
export function hasSampledTokens(runs: readonly (readonly MetricRow[])[]): boolean {
  return runs.some((rows) => rows.some((row) => typeof row.metrics['sampled_tokens'] === 'number'));
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
    const at = xValues(rows, axis);
    rows.forEach((row, i) => {
      const value = row.metrics[metric];
      if (typeof value !== 'number') return;
      points.set(at[i], value);
      xs.add(at[i]);
    });
    return points;
  });
  const x = [...xs].sort((a, b) => a - b);
  return { x, values: perRun.map((points) => x.map((at) => points.get(at) ?? null)) };
}
