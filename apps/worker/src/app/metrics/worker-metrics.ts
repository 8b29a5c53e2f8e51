import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

import { Config } from '@tracetune/config';
import { ACCELERATED_TRAINING_QUEUE, TRAINING_QUEUE, type WorkerCapabilities } from '@tracetune/contracts';
import { FineTuningJobsRepository } from '@tracetune/db';
import {
  counter,
  createRegistry,
  gauge,
  histogram,
  METRICS,
  metricsAuthorized,
  registerClusterMetrics,
} from '@tracetune/metrics';

import { WORKER_CAPABILITIES } from '../storage.tokens';
import { WorkerHealthService } from '../worker-health.service';

/** Step metrics the trainer reports (StepMetrics keys) that time the phases of a reinforcement step. */
const PHASES = {
  'time/sampling': 'sampling',
  'time/grading': 'grading',
  'time/reference': 'reference',
  'time/update': 'update',
} as const;

/**
 * The worker's Prometheus metrics, served on its health port at /metrics. Training figures come from the step
 * reports the training process already sends (step_time, time/*, trained_tokens, sampled_tokens): the trainer knows
 * nothing of Prometheus.
 */
@Injectable()
export class WorkerMetrics {
  readonly registry = createRegistry('worker');
  private readonly stepDuration = histogram(this.registry, METRICS.trainingStepDuration);
  private readonly phaseDuration = histogram(this.registry, METRICS.trainingPhaseDuration);
  private readonly trainedTokens = counter(this.registry, METRICS.trainingTrainedTokens);
  private readonly sampledTokens = counter(this.registry, METRICS.trainingSampledTokens);
  private readonly running = gauge(this.registry, METRICS.workerRunningJobs);
  private readonly outcomes = counter(this.registry, METRICS.workerJobs);
  private readonly publishDuration = histogram(this.registry, METRICS.checkpointPublishDuration);

  constructor(
    private readonly config: Config,
    health: WorkerHealthService,
    jobs: FineTuningJobsRepository,
    @Inject(WORKER_CAPABILITIES) capabilities: WorkerCapabilities,
    @InjectQueue(TRAINING_QUEUE) training: Queue,
    @InjectQueue(ACCELERATED_TRAINING_QUEUE) accelerated: Queue,
  ) {
    gauge(this.registry, METRICS.workerInfo).set(
      {
        worker_id: health.workerId,
        backend: capabilities.backend,
        accelerator: capabilities.accelerator,
        queues: capabilities.queues.join(','),
      },
      1,
    );
    this.running.set(0);
    registerClusterMetrics(this.registry, {
      queues: [training, accelerated].map((queue) => ({
        name: queue.name,
        counts: () => queue.getJobCounts() as unknown as Promise<Record<string, number>>,
      })),
      jobStatuses: () => jobs.countByStatus(),
    });
  }

  /** One step the training process reported (its StepMetrics). */
  step(method: string, metrics: Record<string, number>): void {
    const finite = (key: string) => (Number.isFinite(metrics[key]) ? metrics[key] : undefined);
    const stepTime = finite('step_time');
    if (stepTime !== undefined) this.stepDuration.observe({ method }, stepTime);
    for (const [key, phase] of Object.entries(PHASES)) {
      const seconds = finite(key);
      if (seconds !== undefined) this.phaseDuration.observe({ phase }, seconds);
    }
    const trained = finite('trained_tokens');
    if (trained !== undefined) this.trainedTokens.inc({ method }, trained);
    const sampled = finite('sampled_tokens');
    if (sampled !== undefined) this.sampledTokens.inc(sampled);
  }

  jobStarted(): void {
    this.running.inc();
  }

  jobEnded(outcome: string): void {
    this.running.dec();
    this.outcomes.inc({ outcome });
  }

  published(seconds: number): void {
    this.publishDuration.observe(seconds);
  }

  authorized(authorization: string | undefined): boolean {
    return metricsAuthorized(authorization, this.config.get('TRACETUNE_METRICS_TOKEN'));
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
