import { InjectQueue } from '@nestjs/bull';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import type { Queue } from 'bull';

import { Config } from '@tracetune/config';
import {
  ACCELERATED_TRAINING_QUEUE,
  TERMINAL_JOB_STATUSES,
  TRAINING_QUEUE,
  type JobStatusName,
  type TrainingJobPayload,
} from '@tracetune/contracts';
import { FineTuningEventsRepository, FineTuningJobsRepository } from '@tracetune/db';

/** How long a job's "no worker" mark lives in Redis (it is removed as soon as a worker appears). */
const MARK_TTL_S = 7 * 24 * 3600;

const WHO: Record<string, string> = {
  [TRAINING_QUEUE]: 'any worker',
  [ACCELERATED_TRAINING_QUEUE]: 'a worker with a GPU backend (tensorflow-gpu or webgpu)',
};

/**
 * Watches the training queues for jobs that wait on a queue no live worker consumes. A live consumer is a Redis
 * connection Bull named after the queue (its blocking client: `Queue.getWorkers`), so a crashed worker stops counting
 * as soon as its connection closes. Every TRACETUNE_QUEUE_WATCH_MS (and right after a job is queued) each waiting job
 * is checked: with no consumer it gets a warning event once, and its job object's `status_details` says why it waits;
 * when a consumer appears it gets an event saying so. A Redis mark per job makes each event appear once, also with
 * several api instances and across restarts.
 */
@Injectable()
export class QueueWatchService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(QueueWatchService.name);
  private timer: NodeJS.Timeout | null = null;
  /** Why each waiting job waits, from the last check (only jobs on a queue without consumers), and on which queue. */
  private readonly reasons = new Map<string, { queue: string; why: string }>();

  constructor(
    private readonly jobs: FineTuningJobsRepository,
    private readonly events: FineTuningEventsRepository,
    @InjectQueue(TRAINING_QUEUE) private readonly queue: Queue<TrainingJobPayload>,
    @InjectQueue(ACCELERATED_TRAINING_QUEUE) private readonly accelerated: Queue<TrainingJobPayload>,
    private readonly config: Config,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.get('TRACETUNE_QUEUE_WATCH_MS'));
    this.timer.unref();
  }

  onModuleDestroy(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Why a queued job waits, when it waits on a queue that no live worker consumes; else null. */
  reason(jobId: string): string | null {
    return this.reasons.get(jobId)?.why ?? null;
  }

  /** Checks every waiting job of both queues. Errors are logged (Redis away): the next sweep tries again. */
  async sweep(): Promise<void> {
    try {
      for (const queue of [this.queue, this.accelerated]) await this.sweepQueue(queue);
    } catch (error) {
      this.logger.warn(`queue watch: ${(error as Error).message}`);
    }
  }

  /** Checks one job just queued on `queue`. */
  async checkQueued(jobId: string, queue: Queue<TrainingJobPayload>): Promise<void> {
    try {
      await this.check(jobId, queue, await this.consumers(queue));
    } catch (error) {
      this.logger.warn(`queue watch: ${(error as Error).message}`);
    }
  }

  private async consumers(queue: Queue): Promise<number> {
    return ((await queue.getWorkers()) ?? []).length;
  }

  private async sweepQueue(queue: Queue<TrainingJobPayload>): Promise<void> {
    const consumers = await this.consumers(queue);
    const waiting = await queue.getJobs(['waiting', 'delayed', 'paused']);
    const ids = new Set(waiting.filter(Boolean).map((j) => String(j.id)));
    // Jobs that waited here at the last check and left the queue: taken by a worker that appeared since (or cancelled).
    for (const [id, { queue: name }] of this.reasons)
      if (name === queue.name && !ids.has(id)) await this.check(id, queue, Math.max(consumers, 1));
    for (const id of ids) await this.check(id, queue, consumers);
  }

  private async check(jobId: string, queue: Queue<TrainingJobPayload>, consumers: number): Promise<void> {
    const mark = `${this.config.get('TRACETUNE_QUEUE_PREFIX')}:no-worker:${jobId}`;
    if (consumers > 0) {
      this.reasons.delete(jobId);
      if ((await queue.client.del(mark)) === 1)
        await this.log(jobId, 'info', `A worker consuming the ${queue.name} queue is live; it takes the job`);
      return;
    }
    const why = `Waiting for ${WHO[queue.name] ?? 'a worker'}: no live worker consumes the ${queue.name} queue`;
    this.reasons.set(jobId, { queue: queue.name, why });
    if ((await queue.client.set(mark, queue.name, 'EX', MARK_TTL_S, 'NX')) === 'OK')
      await this.log(jobId, 'warn', why);
  }

  private async log(jobId: string, level: 'info' | 'warn', message: string): Promise<void> {
    const job = await this.jobs.findById(jobId);
    if (!job || TERMINAL_JOB_STATUSES.includes(job.status as JobStatusName)) return;
    await this.events.message(job, level, message);
  }
}
