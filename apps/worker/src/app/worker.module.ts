import { BullModule } from '@nestjs/bull';
import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

import { artifactStoreSettings, Config, ConfigModule } from '@tracetune/config';
import {
  ACCELERATED_TRAINING_QUEUE,
  TRAINING_QUEUE,
  trainingQueueSettings,
  type WorkerCapabilities,
} from '@tracetune/contracts';
import { DbModule, DeploymentRepository } from '@tracetune/db';
import { createArtifactStore } from '@tracetune/storage';

import { WorkerMetrics } from './metrics/worker-metrics';
import { ARTIFACT_STORE, WORKER_CAPABILITIES } from './storage.tokens';
import { JobRunner } from './training/job-runner.service';
import { Reconciler } from './training/reconciler.service';
import { AcceleratedTrainingProcessor, TrainingProcessor } from './training/training.processor';
import { WorkerHealthService } from './worker-health.service';

/**
 * The worker process: consumes the training queue, one job at a time, training in a child process. A worker with an
 * accelerator also consumes the accelerated queue (jobs on models too large for CPU-only workers).
 */
@Module({})
export class WorkerModule {
  static forRoot(config: Config, capabilities: WorkerCapabilities): DynamicModule {
    const settings = trainingQueueSettings(config.get('TRACETUNE_JOB_LOCK_MS'));
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ pinoHttp: { level: config.get('LOG_LEVEL') } }),
        DbModule,
        BullModule.forRootAsync({
          inject: [DeploymentRepository],
          useFactory: async (deployment: DeploymentRepository) => ({
            url: config.get('REDIS_URL'),
            prefix: await deployment.queuePrefix(config.get('TRACETUNE_QUEUE_PREFIX')),
          }),
        }),
        BullModule.registerQueue(
          { name: TRAINING_QUEUE, settings },
          { name: ACCELERATED_TRAINING_QUEUE, settings },
        ),
      ],
      providers: [
        WorkerHealthService,
        WorkerMetrics,
        JobRunner,
        Reconciler,
        TrainingProcessor,
        ...(capabilities.queues.includes(ACCELERATED_TRAINING_QUEUE) ? [AcceleratedTrainingProcessor] : []),
        { provide: ARTIFACT_STORE, useValue: createArtifactStore(artifactStoreSettings(config)) },
        { provide: WORKER_CAPABILITIES, useValue: capabilities },
      ],
    };
  }
}
