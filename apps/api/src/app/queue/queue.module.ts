import { BullModule } from '@nestjs/bull';
import { Global, Module } from '@nestjs/common';

import { Config } from '@tracetune/config';
import { ACCELERATED_TRAINING_QUEUE, TRAINING_QUEUE, trainingQueueSettings } from '@tracetune/contracts';
import { DeploymentRepository } from '@tracetune/db';

/** The api's side of the queue catalogue: it only produces (consumers live in apps/worker). */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [Config, DeploymentRepository],
      useFactory: async (config: Config, deployment: DeploymentRepository) => ({
        url: config.get('REDIS_URL'),
        prefix: await deployment.queuePrefix(config.get('TRACETUNE_QUEUE_PREFIX')),
      }),
    }),
    ...[TRAINING_QUEUE, ACCELERATED_TRAINING_QUEUE].map((name) =>
      BullModule.registerQueueAsync({
        name,
        inject: [Config],
        useFactory: (config: Config) => ({
          settings: trainingQueueSettings(config.get('TRACETUNE_JOB_LOCK_MS')),
        }),
      }),
    ),
  ],
  exports: [BullModule],
})
export class QueueModule {}
