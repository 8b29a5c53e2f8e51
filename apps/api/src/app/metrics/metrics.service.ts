import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

import { Config } from '@tracetune/config';
import { ACCELERATED_TRAINING_QUEUE, TRAINING_QUEUE } from '@tracetune/contracts';
import { FineTuningJobsRepository } from '@tracetune/db';
import {
  createRegistry,
  histogram,
  METRICS,
  metricsAuthorized,
  registerClusterMetrics,
} from '@tracetune/metrics';

/**
 * Prometheus registry of the api: Node defaults, HTTP request durations, and the cluster-wide gauges (queue depth per
 * state, jobs per status) collected at scrape time.
 */
@Injectable()
export class MetricsService {
  readonly registry = createRegistry('api');
  readonly httpDuration = histogram(this.registry, METRICS.httpRequestDuration);

  constructor(
    private readonly config: Config,
    jobs: FineTuningJobsRepository,
    @InjectQueue(TRAINING_QUEUE) training: Queue,
    @InjectQueue(ACCELERATED_TRAINING_QUEUE) accelerated: Queue,
  ) {
    registerClusterMetrics(this.registry, {
      queues: [training, accelerated].map((queue) => ({
        name: queue.name,
        counts: () => queue.getJobCounts() as unknown as Promise<Record<string, number>>,
      })),
      jobStatuses: () => jobs.countByStatus(),
    });
  }

  authorized(authorization: string | undefined): boolean {
    return metricsAuthorized(authorization, this.config.get('TRACETUNE_METRICS_TOKEN'));
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
