import { useId, useMemo, useState } from 'react';

import { LineChart, type ChartSeries } from '../../components/chart';
import { Empty } from '../../components/states';
import type { MetricRow } from '../../lib/api';
import { ema, groupMetrics, positiveOnly } from '../../lib/metric-groups';
import { hasSampledTokens, metricNames, X_AXES, xValues, type XAxis } from '../../lib/metrics';

interface Curve {
  name: string;
  x: number[];
  values: number[];
}

/** The smoothing slider and log-scale switch of one chart. */
function ChartControls({
  name,
  smoothing,
  setSmoothing,
  log,
  setLog,
}: {
  name: string;
  smoothing: number;
  setSmoothing: (v: number) => void;
  log: boolean;
  setLog: (v: boolean) => void;
}) {
  const id = useId();
  return (
    <span className="chart-controls">
      <label htmlFor={`${id}-ema`} className="visually-hidden">
        Smoothing of {name}
      </label>
      <input
        id={`${id}-ema`}
        type="range"
        min={0}
        max={0.99}
        step={0.01}
        value={smoothing}
        onChange={(event) => setSmoothing(Number(event.target.value))}
        title={`EMA smoothing ${smoothing.toFixed(2)}`}
      />
      <label className="checkbox" title="Log scale">
        <input type="checkbox" checked={log} onChange={(event) => setLog(event.target.checked)} />
        <span className="visually-hidden">Log scale for {name}</span>
        <span aria-hidden="true">log</span>
      </label>
    </span>
  );
}

/** One metric: its raw curve, pale, under the EMA-smoothed one when smoothing is on; log scale on demand. */
function MetricChart({ curve, xLabel, syncKey }: { curve: Curve; xLabel: string; syncKey: string }) {
  const [smoothing, setSmoothing] = useState(0);
  const [log, setLog] = useState(false);
  const series = useMemo((): ChartSeries[] => {
    const raw = log ? positiveOnly(curve.values) : curve.values;
    if (smoothing === 0) return [{ label: curve.name, values: raw }];
    return [
      { label: `${curve.name} (raw)`, values: raw, faint: true, colour: 0 },
      { label: `${curve.name} (EMA ${smoothing.toFixed(2)})`, values: ema(raw, smoothing), colour: 0 },
    ];
  }, [curve, smoothing, log]);
  return (
    <LineChart
      title={curve.name}
      x={curve.x}
      series={series}
      xLabel={xLabel}
      logScale={log}
      syncKey={syncKey}
      controls={
        <ChartControls
          name={curve.name}
          smoothing={smoothing}
          setSmoothing={setSmoothing}
          log={log}
          setLog={setLog}
        />
      }
    />
  );
}

/**
 * The run's metrics in sections by meaning (reward & accuracy, evaluation, policy, completions, optimiser,
 * throughput & time; key metrics first), each a grid of small charts with one synced cursor, on the x axis chosen
 * (step, cumulative sampled tokens or wall time). Charts grow as steps land.
 */
export function MetricCharts({ rows }: { rows: MetricRow[] }) {
  const [axis, setAxis] = useState<XAxis>('step');
  const syncKey = useId();
  const tokens = hasSampledTokens([rows]);
  const effective: XAxis = axis === 'sampled_tokens' && !tokens ? 'step' : axis;
  const groups = useMemo(() => {
    const x = xValues(rows, effective);
    const curve = (name: string): Curve => {
      const at = rows.flatMap((row, i) => (typeof row.metrics[name] === 'number' ? [i] : []));
      return { name, x: at.map((i) => x[i]), values: at.map((i) => rows[i].metrics[name]) };
    };
    return groupMetrics(metricNames(rows)).map(({ group, names }) => ({ group, curves: names.map(curve) }));
  }, [rows, effective]);
  if (groups.length === 0)
    return <Empty>No metrics yet: charts appear as the first training steps land.</Empty>;
  const xLabel = X_AXES.find((a) => a.value === effective)?.label ?? 'step';
  return (
    <>
      <div className="toolbar">
        <label>
          X axis{' '}
          <select value={axis} onChange={(event) => setAxis(event.target.value as XAxis)}>
            {X_AXES.map((a) => (
              <option key={a.value} value={a.value} disabled={a.value === 'sampled_tokens' && !tokens}>
                {a.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {groups.map(({ group, curves }) => (
        <details key={group.id} open className="metric-group" data-group={group.id}>
          <summary>
            <h3>{group.title}</h3> <span className="muted">({curves.length})</span>
          </summary>
          <div className="chart-grid">
            {curves.map((curve) => (
              <MetricChart key={curve.name} curve={curve} xLabel={xLabel} syncKey={syncKey} />
            ))}
          </div>
        </details>
      ))}
    </>
  );
}
