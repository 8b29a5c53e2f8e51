import type { ChartSeries } from '../components/chart';
import type { MetricRow } from '../lib/api';
import { mergeAxes, seedBand } from '../lib/compare-data';
import { alignRuns, type XAxis } from '../lib/metrics';

export interface ChartData {
  metric: string;
  x: number[];
  series: ChartSeries[];
}

/** One chart per metric: a curve per run, or per metadata group a mean line with a ± std band over its runs. */
export function buildCharts(
  metrics: readonly string[],
  runs: readonly { id: string; label: string; group: string; rows: MetricRow[] }[],
  axis: XAxis,
  grouped: boolean,
): ChartData[] {
  return metrics.map((metric) => {
    if (!grouped) {
      const aligned = alignRuns(
        runs.map((r) => r.rows),
        metric,
        axis,
      );
      return {
        metric,
        x: aligned.x,
        series: runs.map((r, i) => ({ label: r.label, values: aligned.values[i] })),
      };
    }
    const groups = [...new Set(runs.map((r) => r.group))];
    const bands = groups.map((g) =>
      seedBand(
        runs.filter((r) => r.group === g).map((r) => r.rows),
        metric,
        axis,
      ),
    );
    const merged = mergeAxes(
      bands.flatMap((b) => [
        { x: b.x, values: b.mean },
        { x: b.x, values: b.upper },
        { x: b.x, values: b.lower },
      ]),
    );
    const series = groups.flatMap((g, i): ChartSeries[] => [
      { label: `${g} (mean of ${bands[i].runs})`, values: merged.values[3 * i], colour: i },
      { label: `${g} + std`, values: merged.values[3 * i + 1], colour: i, bandTo: 3 * i + 2 },
      { label: `${g} − std`, values: merged.values[3 * i + 2], colour: i, faint: true },
    ]);
    return { metric, x: merged.x, series };
  });
}
