import { BullModule } from '@nestjs/bull';
import { Global, Module } from '@nestjs/common';
import { Config } from '@tracetune/config';
import { TRAINING_QUEUE, TRAINING_QUEUE_SETTINGS } from '@tracetune/contracts';

/** The api's side of the queue catalogue: it only produces (consumers live in apps/worker). */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [Config],
      useFactory: (config: Config) => ({ url: config.get('REDIS_URL'), prefix: config.get('TRACETUNE_QUEUE_PREFIX') }),
    }),
    BullModule.registerQueue({ name: TRAINING_QUEUE, settings: TRAINING_QUEUE_SETTINGS }),
  ],
  exports: [BullModule],
})
export class QueueModule {}
