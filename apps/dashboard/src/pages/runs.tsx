import { useMemo, useRef, useState } from 'react';

import type { FineTuningJobObject, JobStatusName } from '@tracetune/contracts';

import { Page } from '../components/page';
import { JobProgress } from '../components/progress';
import { Async } from '../components/states';
import { StatusBadge } from '../components/status-badge';
import type { MetricRow, TracetuneClient } from '../lib/api';
import { formatNumber, formatRelative, methodLabel } from '../lib/format';
import { mapWithLimit } from '../lib/map-with-limit';
import { Link, useRouter } from '../lib/router';
import { useSession } from '../lib/session-context';
import { useResource } from '../lib/use-resource';

const POLL_MS = 4_000;
/** Pages of 100 jobs read per refresh; older runs are beyond what a live table needs. */
const MAX_PAGES = 5;
/** Latest-metrics requests in flight at once: a first load of hundreds of runs must not flood the api. */
const LATEST_CONCURRENCY = 6;
const STATUSES: readonly JobStatusName[] = [
  'validating_files',
  'queued',
  'running',
  'pausing',
  'paused',
  'succeeded',
  'failed',
  'cancelled',
];

interface RunRow {
  job: FineTuningJobObject;
  latest: MetricRow | null;
}

async function listAllJobs(client: TracetuneClient): Promise<FineTuningJobObject[]> {
  const jobs: FineTuningJobObject[] = [];
  let after: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const list = await client.listJobs(after);
    jobs.push(...list.data);
    if (!list.has_more || list.data.length === 0) break;
    after = list.data[list.data.length - 1].id;
  }
  return jobs;
}

export function RunsPage() {
  const { client } = useSession();
  const { navigate } = useRouter();
  const [status, setStatus] = useState<'all' | 'active' | JobStatusName>('all');
  const [search, setSearch] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  // Latest metrics per job, refetched only when the job's step or status moved: one request per change, not per poll.
  const latestCache = useRef(new Map<string, { key: string; row: MetricRow | null }>());

  const runs = useResource<RunRow[]>(
    async () => {
      const jobs = await listAllJobs(client);
      return mapWithLimit(jobs, LATEST_CONCURRENCY, async (job) => {
        const key = `${job.status}|${job.progress.step}`;
        const cached = latestCache.current.get(job.id);
        if (cached?.key === key) return { job, latest: cached.row };
        const rows = await client.listMetrics(job.id, job.progress.step > 0 ? job.progress.step - 1 : -1);
        const row = rows[rows.length - 1] ?? null;
        // A step whose row has not landed yet is asked for again on the next poll.
        if (row) latestCache.current.set(job.id, { key, row });
        return { job, latest: row };
      });
    },
    [client],
    POLL_MS,
  );

  const visible = useMemo(() => {
    const needle = search.trim().toLowerCase();
    return (runs.data ?? []).filter(({ job }) => {
      if (status === 'active' && ['succeeded', 'failed', 'cancelled'].includes(job.status)) return false;
      if (status !== 'all' && status !== 'active' && job.status !== status) return false;
      if (!needle) return true;
      return [job.id, job.model, job.user_provided_suffix ?? '', job.fine_tuned_model ?? ''].some((v) =>
        v.toLowerCase().includes(needle),
      );
    });
  }, [runs.data, status, search]);

  const toggle = (id: string) =>
    setSelected((current) => (current.includes(id) ? current.filter((x) => x !== id) : [...current, id]));

  return (
    <Page
      title="Runs"
      actions={
        <button
          type="button"
          className="primary"
          disabled={selected.length < 2}
          onClick={() => navigate(`/compare?runs=${selected.join(',')}`)}
        >
          Compare selected ({selected.length})
        </button>
      }
    >
      <div className="toolbar" role="search">
        <label>
          Status
          <select value={status} onChange={(event) => setStatus(event.target.value as typeof status)}>
            <option value="all">All</option>
            <option value="active">Active</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
        <label className="grow">
          Search
          <input
            type="search"
            placeholder="id, model or suffix"
            value={search}
            onChange={(event) => setSearch(event.target.value)}
          />
        </label>
        <span className="muted" aria-live="polite">
          {runs.data ? `${visible.length} of ${runs.data.length} runs` : ''}
        </span>
      </div>
      <Async
        resource={runs}
        what="runs"
        isEmpty={(rows) => rows.length === 0}
        empty="No fine-tuning jobs yet. Create one with the openai SDK: client.fineTuning.jobs.create(…)."
      >
        {() =>
          visible.length === 0 ? (
            <p className="state state-empty">No run matches these filters.</p>
          ) : (
            <div className="table-wrap">
              <table className="runs-table">
                <caption className="visually-hidden">Fine-tuning runs, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">
                      <span className="visually-hidden">Select for comparison</span>
                    </th>
                    <th scope="col">Run</th>
                    <th scope="col">Status</th>
                    <th scope="col">Base model</th>
                    <th scope="col">Method</th>
                    <th scope="col">Progress</th>
                    <th scope="col" className="num">
                      Reward
                    </th>
                    <th scope="col" className="num">
                      Accuracy
                    </th>
                    <th scope="col">Created</th>
                  </tr>
                </thead>
                <tbody>
                  {visible.map(({ job, latest }) => {
                    const { method, algorithm } = methodLabel(job);
                    return (
                      <tr key={job.id} data-job={job.id}>
                        <td>
                          <input
                            type="checkbox"
                            aria-label={`Select ${job.id} for comparison`}
                            checked={selected.includes(job.id)}
                            onChange={() => toggle(job.id)}
                          />
                        </td>
                        <td>
                          <Link to={`/runs/${job.id}`} className="mono">
                            {job.id}
                          </Link>
                          {job.user_provided_suffix && (
                            <div className="muted">{job.user_provided_suffix}</div>
                          )}
                        </td>
                        <td>
                          <StatusBadge status={job.status} />
                        </td>
                        <td className="mono">{job.model}</td>
                        <td>
                          {method}
                          {algorithm !== '—' && <div className="muted">{algorithm}</div>}
                        </td>
                        <td>
                          <JobProgress job={job} />
                        </td>
                        <td className="num" data-cell="reward">
                          {formatNumber(latest?.metrics['reward'])}
                        </td>
                        <td className="num" data-cell="accuracy">
                          {formatNumber(latest?.metrics['accuracy'])}
                        </td>
                        <td title={new Date(job.created_at * 1000).toISOString()}>
                          {formatRelative(job.created_at)}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Async>
    </Page>
  );
}
