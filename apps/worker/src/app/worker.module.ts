import { BullModule } from '@nestjs/bull';
import { Module, type DynamicModule } from '@nestjs/common';
import { Config, ConfigModule } from '@tracetune/config';
import { TRAINING_QUEUE, TRAINING_QUEUE_SETTINGS } from '@tracetune/contracts';
import { DbModule } from '@tracetune/db';
import { LoggerModule } from 'nestjs-pino';
import { WorkerHealthService } from './worker-health.service';

/** The worker process: consumes the training queue (the consumer arrives with the fine-tuning jobs feature). */
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
        BullModule.registerQueue({ name: TRAINING_QUEUE, settings: TRAINING_QUEUE_SETTINGS }),
      ],
      providers: [WorkerHealthService],
    };
  }
}
