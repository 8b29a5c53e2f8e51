import { Injectable, Logger } from '@nestjs/common';

import { TERMINAL_JOB_STATUSES, type FineTuningJobObject, type JobStatusName } from '@tracetune/contracts';
import {
  FineTuningEventsRepository,
  FineTuningJobsRepository,
  TrainingMetricsRepository,
  type FineTuningJob,
  type TrainingMetric,
} from '@tracetune/db';

import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';
import { toEventObject, toJobObject } from '../fine-tuning-jobs/fine-tuning-jobs.service';
import type { EventSink } from './sse-writer';

/** One training step's named metrics (docs/api-contract.md, "Metric names"). */
export interface TrainingMetricObject {
  object: 'fine_tuning.job.metric';
  step: number;
  metrics: Record<string, number>;
  created_at: number;
}

export interface TrainingMetricList {
  object: 'list';
  data: TrainingMetricObject[];
  has_more: false;
}

export interface StreamOptions {
  /** Only metric rows after this step (the client already has the earlier ones). */
  afterStep: number;
  /** Milliseconds between database polls (default 1 s). */
  pollMs?: number;
}

const POLL_MS = 1_000;
/** A comment line this often keeps proxies and load balancers from closing an idle stream. */
const KEEP_ALIVE_MS = 15_000;

function toMetricObject(row: TrainingMetric): TrainingMetricObject {
  return {
    object: 'fine_tuning.job.metric',
    step: row.step,
    metrics: row.metrics as Record<string, number>,
    created_at: unixSeconds(row.createdAt),
  };
}

const isTerminal = (status: string) => TERMINAL_JOB_STATUSES.includes(status as JobStatusName);

/** What the dashboard shows moving: a change of any of these is sent as a `status` event. */
const statusKey = (job: FineTuningJobObject) =>
  `${job.status}|${job.progress.step}|${job.estimated_finish}|${job.fine_tuned_model}`;

/**
 * The dashboard's reads that the OpenAI surface lacks: a job's per-step training metrics, listed or streamed live.
 * Everything is scoped to the caller's organization: another organization's job is a 404, as on /v1/fine_tuning/jobs.
 */
@Injectable()
export class DashboardApiService {
  private readonly logger = new Logger(DashboardApiService.name);

  constructor(
    private readonly jobs: FineTuningJobsRepository,
    private readonly events: FineTuningEventsRepository,
    private readonly metrics: TrainingMetricsRepository,
  ) {}

  async listMetrics(caller: Principal, jobId: string, afterStep = -1): Promise<TrainingMetricList> {
    await this.job(caller, jobId);
    const rows = await this.metrics.list(caller.organizationId, jobId, afterStep);
    return { object: 'list', data: rows.map(toMetricObject), has_more: false };
  }

  /** Throws the 404 before the stream starts, so a bad id gets the usual error envelope rather than an empty stream. */
  async job(caller: Principal, jobId: string): Promise<FineTuningJob> {
    const job = await this.jobs.find(caller.organizationId, jobId);
    if (!job) throw ApiError.notFound(`Could not find fine-tuning job: ${jobId}`, 'fine_tuning_job_id');
    return job;
  }

  /**
   * Polls the database about once a second and sends what changed: `metrics` (a list of new rows), `status` (the job
   * object when its status or progress moved) and `event` (each new job event). Ends with an `end` event once the job
   * is terminal and everything up to then was sent, or when the client disconnects. Polling, not LISTEN/NOTIFY: the
   * worker writes through Prisma from other hosts, and one indexed query per second per open page is cheap.
   * Rows are sent by step order only once: a job resumed from a checkpoint rewrites the steps after it, and clients
   * that care reload /metrics when a `status` event shows the job running again.
   */
  async stream(caller: Principal, jobId: string, sink: EventSink, options: StreamOptions): Promise<void> {
    const org = caller.organizationId;
    const pollMs = options.pollMs ?? POLL_MS;
    let lastStep = options.afterStep;
    let lastStatus = '';
    // Events are streamed from the moment the stream opens; the client lists older ones through /events.
    const newest = await this.events.list(org, jobId, { limit: 0 });
    let lastEventSeq = newest?.[0]?.seq ?? -1n;
    let sinceKeepAlive = 0;
    try {
      while (!sink.closed) {
        const job = await this.jobs.find(org, jobId);
        if (!job) break;
        const rows = await this.metrics.list(org, jobId, lastStep);
        if (rows.length > 0) {
          sink.send('metrics', { object: 'list', data: rows.map(toMetricObject) });
          lastStep = rows[rows.length - 1].step;
        }
        const fresh = await this.events.since(org, jobId, lastEventSeq);
        for (const event of fresh) sink.send('event', toEventObject(event));
        if (fresh.length > 0) lastEventSeq = fresh[fresh.length - 1].seq;
        const jobObject = toJobObject(job);
        if (statusKey(jobObject) !== lastStatus) {
          sink.send('status', jobObject);
          lastStatus = statusKey(jobObject);
        }
        if (isTerminal(job.status)) {
          sink.send('end', { status: job.status });
          break;
        }
        await sink.sleep(pollMs);
        sinceKeepAlive += pollMs;
        if (sinceKeepAlive >= KEEP_ALIVE_MS) {
          sink.keepAlive();
          sinceKeepAlive = 0;
        }
      }
    } catch (error) {
      // Headers are gone already; the client sees the stream end and falls back to polling.
      this.logger.warn(`stream of ${jobId} stopped: ${(error as Error).message}`);
      sink.send('error', {
        error: {
          message: 'The stream stopped on a server error; reconnect or poll /metrics.',
          type: 'server_error',
        },
      });
    } finally {
      sink.end();
    }
  }
}
