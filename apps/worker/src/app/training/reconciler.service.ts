import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Job, Queue } from 'bull';

import { Config } from '@tracetune/config';
import {
  ACCELERATED_TRAINING_QUEUE,
  TRAINING_JOB,
  TRAINING_JOB_OPTIONS,
  TRAINING_QUEUE,
  type TrainingJobPayload,
} from '@tracetune/contracts';
import {
  FineTuningEventsRepository,
  FineTuningJobsRepository,
  ModelsRepository,
  type FineTuningJob,
} from '@tracetune/db';
import { configFromHf, parameterCount } from '@tracetune/model/metadata';

/** Bull states in which a delivery will still reach (or is with) a worker. */
const LIVE_STATES = new Set(['waiting', 'delayed', 'active', 'paused']);

export type Reconciled = 'requeued' | 'paused' | 'live' | 'alive';

/**
 * PostgreSQL is the source of truth for jobs; Redis only carries deliveries. Every TRACETUNE_RECONCILE_INTERVAL_MS
 * each worker compares the two: a job `queued`, `running` or `pausing` in PostgreSQL with no live Bull delivery in
 * either training queue, and (running/pausing) no worker heartbeat for two lock periods, lost its delivery (Redis
 * restarted without persistence, a worker crashed after Redis forgot its job, a delivery failed for good). A pause
 * whose worker is gone is finished (`paused`, resumable from its last checkpoint); anything else is queued again and
 * resumes from its last checkpoint. Every step is idempotent (Bull job id = job id; status changes are
 * compare-and-set), so any number of workers may sweep at once.
 */
@Injectable()
export class Reconciler implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(Reconciler.name);
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly config: Config,
    private readonly jobs: FineTuningJobsRepository,
    private readonly events: FineTuningEventsRepository,
    private readonly models: ModelsRepository,
    @InjectQueue(TRAINING_QUEUE) private readonly training: Queue<TrainingJobPayload>,
    @InjectQueue(ACCELERATED_TRAINING_QUEUE) private readonly accelerated: Queue<TrainingJobPayload>,
  ) {}

  onApplicationBootstrap(): void {
    const every = this.config.get('TRACETUNE_RECONCILE_INTERVAL_MS');
    if (every === 0) return;
    this.timer = setInterval(() => {
      this.sweeping = this.sweep().catch((error: unknown) =>
        this.logger.warn(`reconciliation sweep failed (next in ${every} ms): ${(error as Error).message}`),
      );
    }, every);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass over every live job; returns what it did to each. */
  async sweep(): Promise<Map<string, Reconciled>> {
    const done = new Map<string, Reconciled>();
    for (const job of await this.jobs.inStatuses(['queued', 'running', 'pausing']))
      done.set(job.id, await this.reconcile(job));
    return done;
  }

  private async reconcile(job: FineTuningJob): Promise<Reconciled> {
    const deliveries = await this.deliveries(job.id);
    if (await this.anyLive(deliveries)) return 'live';
    if (job.status !== 'queued' && this.heartbeatFresh(job)) return 'alive';
    if (job.status === 'pausing') {
      const paused = await this.jobs.transition(job.id, ['pausing'], {
        status: 'paused',
        pauseRequested: false,
      });
      if (paused)
        await this.events.message(
          job,
          'warn',
          `Job paused: its worker stopped before the pause checkpoint; resume continues from the last checkpoint (step ${paused.currentStep} reached)`,
        );
      return 'paused';
    }
    for (const stale of deliveries) await stale.remove().catch(() => undefined);
    const queue =
      deliveries[0]?.queue ??
      (this.tooLargeForCpu(await this.parameters(job)) ? this.accelerated : this.training);
    await queue.add(
      TRAINING_JOB.run,
      { jobId: job.id, organizationId: job.organizationId },
      { ...TRAINING_JOB_OPTIONS, jobId: job.id },
    );
    this.logger.warn(`job ${job.id} (${job.status}) had no live queue delivery; queued again`);
    if (job.status !== 'queued')
      await this.events.message(
        job,
        'warn',
        `Job queued again: its worker is gone and the queue had no delivery for it (worker or Redis restart); it resumes from its last checkpoint`,
      );
    return 'requeued';
  }

  private async deliveries(id: string): Promise<Job<TrainingJobPayload>[]> {
    const found = await Promise.all([this.training.getJob(id), this.accelerated.getJob(id)]);
    return found.filter((job): job is Job<TrainingJobPayload> => job !== null);
  }

  private async anyLive(deliveries: Job<TrainingJobPayload>[]): Promise<boolean> {
    for (const delivery of deliveries) if (LIVE_STATES.has(await delivery.getState())) return true;
    return false;
  }

  /** A worker heartbeats its running job every quarter lock period; two lock periods of silence mean it is gone. */
  private heartbeatFresh(job: FineTuningJob): boolean {
    const silence = Date.now() - (job.heartbeatAt?.getTime() ?? 0);
    return silence < 2 * this.config.get('TRACETUNE_JOB_LOCK_MS');
  }

  private async parameters(job: FineTuningJob): Promise<number> {
    try {
      const model = await this.models.findById(job.model);
      return model ? parameterCount(configFromHf(model.architecture as Record<string, unknown>)) : 0;
    } catch {
      return 0; // an architecture we cannot size counts as small, as the api decides
    }
  }

  private tooLargeForCpu(parameters: number): boolean {
    return parameters > this.config.get('TRACETUNE_CPU_MAX_PARAMS');
  }
}
