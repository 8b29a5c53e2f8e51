import { Process, Processor } from '@nestjs/bull';
import { Logger } from '@nestjs/common';
import type { Job } from 'bull';

import {
  ACCELERATED_TRAINING_QUEUE,
  TRAINING_JOB,
  TRAINING_QUEUE,
  type TrainingJobPayload,
} from '@tracetune/contracts';

import { WorkerHealthService } from '../worker-health.service';
import { DeliveryHandedBack, JobRunner } from './job-runner.service';

/**
 * The `training` queue consumer: one job at a time per worker process. The heavy work happens in a child process
 * (JobRunner), so this process's event loop keeps renewing Bull's lock: a healthy long job is never declared stalled,
 * while a dead worker's job is picked up by another one after TRACETUNE_JOB_LOCK_MS.
 */
@Processor(TRAINING_QUEUE)
export class TrainingProcessor {
  private readonly logger = new Logger(TrainingProcessor.name);

  constructor(
    private readonly runner: JobRunner,
    private readonly health: WorkerHealthService,
  ) {}

  @Process({ name: TRAINING_JOB.run, concurrency: 1 })
  async handle(job: Job<TrainingJobPayload>): Promise<void> {
    this.logger.log(`running ${job.data.jobId} (delivery ${job.attemptsMade + 1})`);
    try {
      await this.runner.run(job.data.jobId, this.health.workerId);
    } catch (error) {
      // Failing the delivery hands it back: Bull retries it after its backoff; once its attempts are spent it stays
      // among the failed deliveries, and reconciliation queues it again while PostgreSQL says the job is live.
      if (error instanceof DeliveryHandedBack) this.logger.warn(error.message);
      throw error;
    }
  }
}

/** The accelerated queue's consumer, present only on workers with an accelerator (WorkerModule decides). */
@Processor(ACCELERATED_TRAINING_QUEUE)
export class AcceleratedTrainingProcessor extends TrainingProcessor {}
