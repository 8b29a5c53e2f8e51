import { BullModule } from '@nestjs/bull';
import { Module, type DynamicModule } from '@nestjs/common';
import { Config, ConfigModule } from '@tracetune/config';
import { TRAINING_QUEUE, trainingQueueSettings } from '@tracetune/contracts';
import { DbModule } from '@tracetune/db';
import { LocalArtifactStore } from '@tracetune/storage';
import { LoggerModule } from 'nestjs-pino';
import { ARTIFACT_STORE } from './storage.tokens';
import { JobRunner } from './training/job-runner.service';
import { TrainingProcessor } from './training/training.processor';
import { WorkerHealthService } from './worker-health.service';

/** The worker process: consumes the training queue, one job at a time, training in a child process. */
@Module({})
export class WorkerModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ pinoHttp: { level: config.get('LOG_LEVEL') } }),
        DbModule,
        BullModule.forRoot({ url: config.get('REDIS_URL'), prefix: config.get('TRACETUNE_QUEUE_PREFIX') }),
        BullModule.registerQueue({ name: TRAINING_QUEUE, settings: trainingQueueSettings(config.get('TRACETUNE_JOB_LOCK_MS')) }),
      ],
      providers: [
        WorkerHealthService,
        JobRunner,
        TrainingProcessor,
        { provide: ARTIFACT_STORE, useValue: new LocalArtifactStore(config.get('TRACETUNE_DATA_DIR')) },
      ],
    };
  }
}
