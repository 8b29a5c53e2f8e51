import { hostname } from 'node:os';
import { InjectQueue } from '@nestjs/bull';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

import { Config } from '@tracetune/config';
import {
  healthReport,
  TRAINING_QUEUE,
  type HealthReport,
  type WorkerCapabilities,
} from '@tracetune/contracts';
import { PrismaService } from '@tracetune/db';
import type { ArtifactStore } from '@tracetune/storage';

import { ARTIFACT_STORE, WORKER_CAPABILITIES } from './storage.tokens';

@Injectable()
export class WorkerHealthService {
  readonly workerId: string;

  constructor(
    config: Config,
    private readonly prisma: PrismaService,
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue,
    @Inject(WORKER_CAPABILITIES) private readonly capabilities: WorkerCapabilities,
    @Inject(ARTIFACT_STORE) private readonly store: ArtifactStore,
  ) {
    this.workerId = config.get('TRACETUNE_WORKER_ID') ?? `${hostname()}-${process.pid}`;
  }

  check(): Promise<HealthReport> {
    return healthReport(
      'worker',
      {
        database: () => this.prisma.ping(),
        redis: () => this.trainingQueue.client.ping(),
        storage: () => this.store.check(),
      },
      { worker_id: this.workerId, ...this.capabilities },
    );
  }
}
