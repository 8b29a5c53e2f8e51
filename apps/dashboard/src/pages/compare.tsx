import { useMemo } from 'react';

import type { FineTuningJobObject } from '@tracetune/contracts';

import { LineChart } from '../components/chart';
import { Page } from '../components/page';
import { Async, Empty } from '../components/states';
import type { MetricRow } from '../lib/api';
import { methodLabel } from '../lib/format';
import { alignRuns, hasSampledTokens, metricNames, parseAxis, type XAxis } from '../lib/metrics';
import { useRouter } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';

const POLL_MS = 5_000;

/** "ftjob-abc… (GRPO-λ, math)": enough to tell overlaid runs apart in the legend. */
function runLabel(job: FineTuningJobObject): string {
  const { algorithm } = methodLabel(job);
  const parts = [algorithm !== '—' ? algorithm : job.method['type'], job.user_provided_suffix].filter(
    Boolean,
  );
  return `${job.id.slice(0, 14)}… (${parts.join(', ')})`;
}

/**
 * Overlays runs' curves for one metric (GRPO vs GRPO-λ, say), aligned by step or by sampled tokens. The selection
 * lives in the URL (`?runs=a,b&metric=reward&x=step`), so a comparison can be bookmarked and shared.
 */
export function ComparePage() {
  const { client } = useSession();
  const { location, navigate } = useRouter();
  const chosen = (location.query.get('runs') ?? '').split(',').filter(Boolean);
  const axis: XAxis = parseAxis(location.query.get('x'));

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
  const metric = location.query.get('metric') ?? (names.includes('reward') ? 'reward' : names[0]);
  const hasTokens = useMemo(() => hasSampledTokens(metrics.data ?? []), [metrics.data]);
  const aligned = useMemo(
    () => (metric && metrics.data ? alignRuns(metrics.data, metric, axis) : null),
    [metrics.data, metric, axis],
  );
  const jobById = new Map((jobs.data?.data ?? []).map((job) => [job.id, job]));

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
            <label>
              Metric
              <select
                value={metric ?? ''}
                onChange={(event) => update({ metric: event.target.value })}
                disabled={names.length === 0}
              >
                {names.map((name) => (
                  <option key={name} value={name}>
                    {name}
                  </option>
                ))}
              </select>
            </label>
            <fieldset className="inline-radios">
              <legend>Align by</legend>
              <label className="checkbox">
                <input
                  type="radio"
                  name="x"
                  value="step"
                  checked={axis === 'step'}
                  onChange={() => update({ x: 'step' })}
                />{' '}
                step
              </label>
              <label className="checkbox">
                <input
                  type="radio"
                  name="x"
                  value="sampled_tokens"
                  checked={axis === 'sampled_tokens'}
                  onChange={() => update({ x: 'sampled_tokens' })}
                />{' '}
                sampled tokens
              </label>
            </fieldset>
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
                !aligned || !metric || aligned.x.length === 0 ? (
                  <Empty>These runs have no metrics yet.</Empty>
                ) : (
                  <LineChart
                    title={metric}
                    xLabel={axis === 'sampled_tokens' && hasTokens ? 'sampled tokens' : 'step'}
                    x={aligned.x}
                    series={chosen.map((id, index) => {
                      const job = jobById.get(id);
                      return { label: job ? runLabel(job) : id, values: aligned.values[index] };
                    })}
                  />
                )
              }
            </Async>
          )}
        </div>
      </div>
    </Page>
  );
}
