import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import type { Queue } from 'bull';

import { healthReport, TRAINING_QUEUE, type HealthReport } from '@tracetune/contracts';
import { PrismaService } from '@tracetune/db';

/** The report anyone may read: each dependency's status and latency, without the error text (hosts, ports). */
export function publicHealth(report: HealthReport): HealthReport {
  const checks = Object.fromEntries(
    Object.entries(report.checks).map(([name, { status, latency_ms }]) => [name, { status, latency_ms }]),
  );
  return { status: report.status, app: report.app, checks };
}

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
