import type { FineTuningJobObject } from '@tracetune/contracts';

import { ConfirmButton } from '../../components/confirm-button';
import { KeyValues } from '../../components/key-values';
import { Page } from '../../components/page';
import { JobProgress } from '../../components/progress';
import { ErrorMessage, Loading } from '../../components/states';
import { StatusBadge } from '../../components/status-badge';
import { formatTime, methodLabel } from '../../lib/format';
import { Link } from '../../lib/router';
import { useSession } from '../../lib/session-context';
import { useJobLive, type Connection } from '../../lib/use-job-live';
import { Checkpoints } from './checkpoints';
import { EventLog } from './event-log';
import { MetricCharts } from './metric-charts';
import { Samples } from './samples';

interface StoredMethod {
  type: string;
  reinforcement?: {
    grader?: unknown;
    hyperparameters?: Record<string, unknown>;
    algorithm?: Record<string, unknown>;
    lora?: Record<string, unknown> | null;
  };
  supervised?: { hyperparameters?: Record<string, unknown> };
}

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Reconnecting (polling meanwhile)',
  ended: 'Finished: not updating',
};

function Actions({
  job,
  onChange,
}: {
  job: FineTuningJobObject;
  onChange: (job: FineTuningJobObject) => void;
}) {
  const { client } = useSession();
  const act = (action: 'cancel' | 'pause' | 'resume') => async () =>
    onChange(await client.jobAction(job.id, action));
  const canPause = ['queued', 'validating_files', 'running'].includes(job.status);
  const canCancel = !['succeeded', 'failed', 'cancelled'].includes(job.status);
  return (
    <>
      {job.status === 'paused' ? (
        <ConfirmButton
          label="Resume"
          question="Resume this run from its last checkpoint?"
          confirmLabel="Resume run"
          onConfirm={act('resume')}
        />
      ) : (
        <ConfirmButton
          label="Pause"
          question="Pause this run (it checkpoints first)?"
          confirmLabel="Pause run"
          onConfirm={act('pause')}
          disabled={!canPause}
        />
      )}
      <ConfirmButton
        label="Cancel"
        question="Cancel this run? This cannot be undone."
        confirmLabel="Cancel run"
        onConfirm={act('cancel')}
        disabled={!canCancel}
        danger
      />
    </>
  );
}

function Summary({ job }: { job: FineTuningJobObject }) {
  const { method, algorithm } = methodLabel(job);
  return (
    <dl className="summary">
      <div>
        <dt>Status</dt>
        <dd>
          <StatusBadge status={job.status} />
        </dd>
      </div>
      <div>
        <dt>Progress</dt>
        <dd>
          <JobProgress job={job} />
        </dd>
      </div>
      <div>
        <dt>Base model</dt>
        <dd className="mono">{job.model}</dd>
      </div>
      <div>
        <dt>Method</dt>
        <dd>
          {method}
          {algorithm !== '—' ? ` · ${algorithm}` : ''}
        </dd>
      </div>
      <div>
        <dt>Fine-tuned model</dt>
        <dd className="mono wrap-anywhere">
          {job.fine_tuned_model ? (
            <>
              {job.fine_tuned_model}{' '}
              <Link to={`/playground?model=${encodeURIComponent(job.fine_tuned_model)}`}>Try it</Link>
            </>
          ) : (
            '—'
          )}
        </dd>
      </div>
      <div>
        <dt>Training file</dt>
        <dd className="mono">
          <Link to={`/data?file=${encodeURIComponent(job.training_file)}`}>{job.training_file}</Link>
          {job.validation_file && (
            <>
              {' · validation '}
              <Link to={`/data?file=${encodeURIComponent(job.validation_file)}`}>{job.validation_file}</Link>
            </>
          )}
        </dd>
      </div>
      <div>
        <dt>Created</dt>
        <dd>{formatTime(job.created_at)}</dd>
      </div>
      <div>
        <dt>Finished</dt>
        <dd>{formatTime(job.finished_at)}</dd>
      </div>
      <div>
        <dt>Seed</dt>
        <dd className="mono">{job.seed}</dd>
      </div>
    </dl>
  );
}

export function RunDetailPage({ id }: { id: string }) {
  const { client } = useSession();
  const live = useJobLive(client, id);
  const { job } = live;
  if (live.error && !job) {
    return (
      <Page title={`Run ${id}`}>
        <ErrorMessage error={live.error} />
        <Link to="/runs">Back to runs</Link>
      </Page>
    );
  }
  const method = job?.method as unknown as StoredMethod | undefined;
  const rl = method?.reinforcement;
  return (
    <Page
      title={`Run ${id}`}
      actions={
        <>
          <span className={`connection connection-${live.connection}`} role="status" aria-live="polite">
            {CONNECTION_TEXT[live.connection]}
          </span>
          {job && <Actions job={job} onChange={live.setJob} />}
        </>
      }
    >
      {!job ? (
        <Loading what="the run" />
      ) : (
        <>
          {job.error && (
            <div className="state state-error" role="alert">
              <p>
                <strong>{job.error.code}</strong>: {job.error.message}
              </p>
            </div>
          )}
          <Summary job={job} />
          <nav className="in-page" aria-label="Sections of this run">
            <a href="#charts">Charts</a> <a href="#settings">Settings</a> <a href="#samples">Samples</a>{' '}
            <a href="#checkpoints">Checkpoints</a> <a href="#events">Events</a>{' '}
            <Link to={`/compare?runs=${job.id}`}>Compare with…</Link>
          </nav>
          <section id="charts" aria-labelledby="charts-title">
            <h2 id="charts-title">Metrics</h2>
            <MetricCharts rows={live.rows} />
          </section>
          <section id="settings" aria-labelledby="settings-title">
            <h2 id="settings-title">Settings</h2>
            <div className="settings-grid">
              <div>
                <h3>Hyperparameters</h3>
                <KeyValues
                  values={rl?.hyperparameters ?? method?.supervised?.hyperparameters ?? job.hyperparameters}
                  label="hyperparameters"
                />
              </div>
              {rl && (
                <div>
                  <h3>Algorithm</h3>
                  <KeyValues values={rl.algorithm} label="algorithm settings" />
                </div>
              )}
              {rl && (
                <div>
                  <h3>LoRA</h3>
                  {rl.lora ? (
                    <KeyValues values={rl.lora} label="LoRA settings" />
                  ) : (
                    <p className="muted">Full fine-tuning (no LoRA).</p>
                  )}
                </div>
              )}
            </div>
            {rl?.grader !== undefined && (
              <details>
                <summary>Grader</summary>
                <pre>{JSON.stringify(rl.grader, null, 2)}</pre>
              </details>
            )}
          </section>
          <section id="samples" aria-labelledby="samples-title">
            <h2 id="samples-title">Sample completions</h2>
            <Samples
              events={live.events}
              estimator={
                rl?.algorithm ? String((rl.algorithm as { name?: string }).name ?? 'grpo_lambda') : null
              }
            />
          </section>
          <section id="checkpoints" aria-labelledby="checkpoints-title">
            <h2 id="checkpoints-title">Checkpoints</h2>
            <Checkpoints checkpoints={live.checkpoints} />
          </section>
          <section id="events" aria-labelledby="events-title">
            <h2 id="events-title">Event log</h2>
            <EventLog events={live.events} hasOlder={live.hasOlderEvents} loadOlder={live.loadOlderEvents} />
          </section>
        </>
      )}
    </Page>
  );
}
