import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

import { healthReport, TRAINING_QUEUE, type HealthReport } from '@tracetune/contracts';
import { PrismaService } from '@tracetune/db';

@Injectable()
export class HealthService {
  constructor(
    private readonly prisma: PrismaService,
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue,
  ) {}

  check(): Promise<HealthReport> {
    return healthReport('api', {
      database: () => this.prisma.ping(),
      redis: () => this.trainingQueue.client.ping(),
    });
  }
}
