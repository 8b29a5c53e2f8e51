import { useMemo } from 'react';

import { LineChart } from '../../components/chart';
import { Empty } from '../../components/states';
import type { MetricRow } from '../../lib/api';
import { metricNames } from '../../lib/metrics';

/** One small chart per metric the run reports, in a responsive grid; they grow as steps land. */
export function MetricCharts({ rows }: { rows: MetricRow[] }) {
  const charts = useMemo(
    () =>
      metricNames(rows).map((name) => {
        const points = rows.filter((row) => typeof row.metrics[name] === 'number');
        return { name, x: points.map((row) => row.step), values: points.map((row) => row.metrics[name]) };
      }),
    [rows],
  );
  if (charts.length === 0)
    return <Empty>No metrics yet: charts appear as the first training steps land.</Empty>;
  return (
    <div className="chart-grid">
      {charts.map((chart) => (
        <LineChart
          key={chart.name}
          title={chart.name}
          x={chart.x}
          series={[{ label: chart.name, values: chart.values }]}
        />
      ))}
    </div>
  );
}
