import { useMemo, useState, type ChangeEvent } from 'react';

import { LineChart } from '../components/chart';
import { benchResultsToRuns, type FileRun } from '../lib/bench-results';
import { metricNames } from '../lib/metrics';
import { buildCharts } from './compare-charts';

/**
 * The learning benchmark's results (`docs/learning-results.json`, written by bench/learning) opened as a comparison:
 * every (arm, seed) shard is a run, grouped by `arm` into mean ± std bands over its seeds (or each seed its own
 * curve). Read in the browser; nothing is uploaded.
 */
export function BenchComparison() {
  const [runs, setRuns] = useState<FileRun[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [groupBy, setGroupBy] = useState('arm');

  const open = async (event: ChangeEvent<HTMLInputElement>) => {
    const file = event.target.files?.[0];
    if (!file) return;
    try {
      setRuns(benchResultsToRuns(JSON.parse(await file.text())));
      setError(null);
    } catch (caught) {
      setRuns(null);
      setError((caught as Error).message);
    }
  };
  const charts = useMemo(() => {
    if (!runs) return [];
    const metrics = metricNames(runs.flatMap((r) => r.rows));
    const grouped = runs.map((r) => ({ ...r, group: r.metadata[groupBy] ?? '(none)' }));
    return buildCharts(metrics, grouped, 'step', groupBy !== '');
  }, [runs, groupBy]);

  return (
    <details className="bench-comparison">
      <summary>Open learning benchmark results (JSON)</summary>
      <div className="toolbar">
        <label>
          Results file{' '}
          <input type="file" accept="application/json,.json" onChange={(event) => void open(event)} />
        </label>
        <label>
          Group shards by{' '}
          <select value={groupBy} onChange={(event) => setGroupBy(event.target.value)}>
            <option value="arm">arm (mean ± std over seeds)</option>
            <option value="">(each shard its own curve)</option>
          </select>
        </label>
      </div>
      {error && (
        <p role="alert" className="inline-error">
          {error}
        </p>
      )}
      {runs && (
        <>
          <p className="muted" role="status">
            {runs.length} shards of {new Set(runs.map((r) => r.metadata['arm'])).size} arms.
          </p>
          <div className="chart-grid compare-charts" data-source="file">
            {charts.map((chart) => (
              <LineChart
                key={chart.metric}
                title={chart.metric}
                x={chart.x}
                series={chart.series}
                syncKey="bench"
              />
            ))}
          </div>
        </>
      )}
    </details>
  );
}
