import type { MetricRow } from './api';
import { xValues, type XAxis } from './metrics';

/** A job's settings as flat `path → text` pairs (method, hyperparameters, algorithm, seed, model, metadata). */
export function flattenConfig(value: unknown, prefix = ''): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    return prefix ? { [prefix]: JSON.stringify(value) ?? 'null' } : {};
  const out: Record<string, string> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>))
    Object.assign(out, flattenConfig(inner, prefix ? `${prefix}.${key}` : key));
  return out;
}

/** The settings that differ between the runs (a key one run lacks counts as different), sorted by key. */
export function configDiff(
  configs: readonly Record<string, string>[],
): { key: string; values: (string | null)[] }[] {
  const keys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  return keys
    .map((key) => ({ key, values: configs.map((c) => c[key] ?? null) }))
    .filter((row) => new Set(row.values).size > 1);
}

export interface Band {
  x: number[];
  mean: number[];
  lower: number[];
  upper: number[];
  runs: number;
}

/**
 * Mean ± population std of one metric over several runs (seeds of one arm), step by step: at each step that at
 * least one run reports, the runs that report it; x is the mean of their x values (step, cumulative sampled tokens or
 * wall time), so a band follows its arm's token budget.
 */
export function seedBand(runs: readonly (readonly MetricRow[])[], metric: string, axis: XAxis): Band {
  const byStep = new Map<number, { xs: number[]; ys: number[] }>();
  for (const rows of runs) {
    const at = xValues(rows, axis);
    rows.forEach((row, i) => {
      const value = row.metrics[metric];
      if (typeof value !== 'number') return;
      const entry = byStep.get(row.step) ?? { xs: [], ys: [] };
      entry.xs.push(at[i]);
      entry.ys.push(value);
      byStep.set(row.step, entry);
    });
  }
  const band: Band = { x: [], mean: [], lower: [], upper: [], runs: runs.length };
  for (const step of [...byStep.keys()].sort((a, b) => a - b)) {
    const { xs, ys } = byStep.get(step) as { xs: number[]; ys: number[] };
    const mean = ys.reduce((a, b) => a + b, 0) / ys.length;
    const std = Math.sqrt(ys.reduce((a, y) => a + (y - mean) ** 2, 0) / ys.length);
    band.x.push(xs.reduce((a, b) => a + b, 0) / xs.length);
    band.mean.push(mean);
    band.lower.push(mean - std);
    band.upper.push(mean + std);
  }
  return band;
}

/** Series given on their own x values → one shared sorted x axis, null where a series has no point. */
export function mergeAxes(series: readonly { x: readonly number[]; values: readonly number[] }[]): {
  x: number[];
  values: (number | null)[][];
} {
  const x = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  return {
    x,
    values: series.map((s) => {
      const points = new Map(s.x.map((at, i) => [at, s.values[i]]));
      return x.map((at) => points.get(at) ?? null);
    }),
  };
}

const csvCell = (value: string | number | null): string => {
  const text = value === null ? '' : String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

/** Long-format CSV of what the charts show: one line per metric, series and point. */
export function toCsv(
  axis: string,
  charts: readonly {
    metric: string;
    x: readonly number[];
    series: readonly { label: string; values: readonly (number | null)[] }[];
  }[],
): string {
  const lines = [['metric', 'series', axis, 'value'].join(',')];
  for (const chart of charts)
    for (const s of chart.series)
      s.values.forEach((v, i) => {
        if (v !== null) lines.push([chart.metric, s.label, chart.x[i], v].map(csvCell).join(','));
      });
  return `${lines.join('\n')}\n`;
}
