import { useMemo } from 'react';

import type { FineTuningJobObject } from '@tracetune/contracts';

import { LineChart } from '../components/chart';
import { Page } from '../components/page';
import { Async, Empty } from '../components/states';
import type { MetricRow } from '../lib/api';
import { configDiff, flattenConfig, toCsv } from '../lib/compare-data';
import { methodLabel } from '../lib/format';
import { hasSampledTokens, metricNames, parseAxis, X_AXES, type XAxis } from '../lib/metrics';
import { useRouter } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';
import { buildCharts } from './compare-charts';
import { BenchComparison } from './compare-file';

const POLL_MS = 5_000;

/** "ftjob-abc… (GRPO-λ, math)": enough to tell overlaid runs apart in the legend. */
function runLabel(job: FineTuningJobObject): string {
  const { algorithm } = methodLabel(job);
  const parts = [algorithm !== '—' ? algorithm : job.method['type'], job.user_provided_suffix].filter(
    Boolean,
  );
  return `${job.id.slice(0, 14)}… (${parts.join(', ')})`;
}

function download(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}

/** The settings that differ between the chosen runs. */
function ConfigDiff({ jobs }: { jobs: FineTuningJobObject[] }) {
  const rows = configDiff(
    jobs.map((job) =>
      flattenConfig({
        model: job.model,
        seed: job.seed,
        method: job.method,
        metadata: (job as { metadata?: unknown }).metadata ?? null,
      }),
    ),
  );
  if (rows.length === 0) return <p className="muted">The chosen runs have the same settings.</p>;
  return (
    <div className="table-wrap">
      <table className="config-diff">
        <caption>Settings that differ</caption>
        <thead>
          <tr>
            <th scope="col">setting</th>
            {jobs.map((job) => (
              <th key={job.id} scope="col" className="mono">
                {job.id.slice(0, 14)}…
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.key}>
              <th scope="row" className="mono">
                {row.key}
              </th>
              {row.values.map((v, i) => (
                <td key={i} className="mono">
                  {v ?? '—'}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Overlays runs' curves for several metrics (GRPO vs GRPO-λ, say), aligned by step, cumulative sampled tokens or
 * wall time; runs can be grouped by a metadata key (`arm`) into mean ± std bands over their seeds. The selection
 * lives in the URL (`?runs=a,b&metrics=reward,kl&x=step&group=arm`), so a comparison can be bookmarked and shared.
 */
export function ComparePage() {
  const { client } = useSession();
  const { location, navigate } = useRouter();
  const chosen = (location.query.get('runs') ?? '').split(',').filter(Boolean);
  const axis: XAxis = parseAxis(location.query.get('x'));
  const groupKey = location.query.get('group') ?? '';

  const update = (changes: Record<string, string>) => {
    const query = new URLSearchParams(location.query);
    for (const [key, value] of Object.entries(changes)) query.set(key, value);
    navigate(`/compare?${query.toString()}`, { replace: true });
  };
  const toggle = (id: string) =>
    update({
      runs: chosen.includes(id) ? chosen.filter((x) => x !== id).join(',') : [...chosen, id].join(','),
    });

  const jobs = useResource(
    (signal) => client.request<{ data: FineTuningJobObject[] }>('/v1/fine_tuning/jobs?limit=100', { signal }),
    [client],
    POLL_MS,
  );
  const key = chosen.join(',');
  const metrics = useResource<MetricRow[][]>(
    () => Promise.all(chosen.map((id) => client.listMetrics(id))),
    [client, key],
    POLL_MS,
  );

  const names = useMemo(() => metricNames((metrics.data ?? []).flat()), [metrics.data]);
  const asked = (location.query.get('metrics') ?? location.query.get('metric') ?? '')
    .split(',')
    .filter(Boolean);
  const shownMetrics = asked.length > 0 ? asked : names.includes('reward') ? ['reward'] : names.slice(0, 1);
  const toggleMetric = (name: string) =>
    update({
      metrics: (shownMetrics.includes(name)
        ? shownMetrics.filter((m) => m !== name)
        : [...shownMetrics, name]
      ).join(','),
    });
  const hasTokens = useMemo(() => hasSampledTokens(metrics.data ?? []), [metrics.data]);
  const jobById = new Map((jobs.data?.data ?? []).map((job) => [job.id, job]));
  const chosenJobs = chosen.flatMap((id) =>
    jobById.has(id) ? [jobById.get(id) as FineTuningJobObject] : [],
  );
  const metadataKeys = [
    ...new Set(chosenJobs.flatMap((job) => Object.keys((job as { metadata?: object }).metadata ?? {}))),
  ].sort();
  const charts = useMemo(() => {
    if (!metrics.data) return [];
    const runs = chosen.map((id, i) => {
      const job = jobById.get(id);
      const meta = (job as { metadata?: Record<string, string> } | undefined)?.metadata ?? {};
      return {
        id,
        label: job ? runLabel(job) : id,
        group: meta[groupKey] ?? '(none)',
        rows: metrics.data?.[i] ?? [],
      };
    });
    return buildCharts(shownMetrics, runs, axis, groupKey !== '');
    // jobById changes identity every render; the labels only need the jobs' data.
  }, [metrics.data, shownMetrics.join(','), axis, groupKey, jobs.data, key]);
  const xLabel = X_AXES.find(
    (a) => a.value === (axis === 'sampled_tokens' && !hasTokens ? 'step' : axis),
  )?.label;

  return (
    <Page title="Compare runs">
      <div className="compare-layout">
        <fieldset className="run-picker">
          <legend>Runs</legend>
          <Async
            resource={jobs}
            what="runs"
            isEmpty={(list) => list.data.length === 0}
            empty="No runs to compare yet."
          >
            {(list) => (
              <ul>
                {list.data.map((job) => (
                  <li key={job.id}>
                    <label className="checkbox">
                      <input
                        type="checkbox"
                        checked={chosen.includes(job.id)}
                        onChange={() => toggle(job.id)}
                      />
                      <span className="mono">{job.id}</span>{' '}
                      <span className="muted">{runLabel(job).split(' ').slice(1).join(' ')}</span>
                    </label>
                  </li>
                ))}
              </ul>
            )}
          </Async>
        </fieldset>
        <div className="compare-main">
          <div className="toolbar">
            <details className="metric-picker">
              <summary>Metrics ({shownMetrics.length})</summary>
              <fieldset>
                <legend className="visually-hidden">Metrics to show</legend>
                {names.map((name) => (
                  <label key={name} className="checkbox">
                    <input
                      type="checkbox"
                      checked={shownMetrics.includes(name)}
                      onChange={() => toggleMetric(name)}
                    />{' '}
                    {name}
                  </label>
                ))}
              </fieldset>
            </details>
            <label>
              Align by{' '}
              <select value={axis} onChange={(event) => update({ x: event.target.value })}>
                {X_AXES.map((a) => (
                  <option key={a.value} value={a.value}>
                    {a.label}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Group runs by{' '}
              <select value={groupKey} onChange={(event) => update({ group: event.target.value })}>
                <option value="">(each run its own curve)</option>
                {metadataKeys.map((k) => (
                  <option key={k} value={k}>
                    metadata.{k}
                  </option>
                ))}
              </select>
            </label>
            <button
              type="button"
              disabled={charts.length === 0}
              onClick={() =>
                download(
                  'tracetune-compare.csv',
                  toCsv(
                    xLabel ?? axis,
                    charts.map((c) => ({ ...c, series: c.series })),
                  ),
                )
              }
            >
              Export CSV
            </button>
          </div>
          {axis === 'sampled_tokens' && !hasTokens && metrics.data && (
            <p className="hint" role="status">
              These runs report no sampled_tokens metric, so they are aligned by step.
            </p>
          )}
          {chosen.length < 2 ? (
            <Empty>Choose two or more runs to overlay their curves.</Empty>
          ) : (
            <Async resource={metrics} what="metrics">
              {() =>
                charts.every((c) => c.x.length === 0) ? (
                  <Empty>These runs have no metrics yet.</Empty>
                ) : (
                  <div className="chart-grid compare-charts">
                    {charts.map((chart) => (
                      <LineChart
                        key={chart.metric}
                        title={chart.metric}
                        xLabel={xLabel}
                        x={chart.x}
                        series={chart.series}
                        syncKey="compare"
                      />
                    ))}
                  </div>
                )
              }
            </Async>
          )}
          {chosenJobs.length >= 2 && (
            <details className="config-diff-section" open>
              <summary>Config diff</summary>
              <ConfigDiff jobs={chosenJobs} />
            </details>
          )}
          <BenchComparison />
        </div>
      </div>
    </Page>
  );
}
