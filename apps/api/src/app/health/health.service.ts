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

/** A report is reused for this long: probes at a high rate cost no round trips (and the answer is at most this old). */
export const HEALTH_REUSE_MS = 500;

@Injectable()
export class HealthService {
  /** The check in progress: probes that arrive while it runs share its answer instead of queueing more pings. */
  private inFlight?: Promise<HealthReport>;
  private last?: { at: number; report: HealthReport };

  constructor(
    private readonly prisma: PrismaService,
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue,
  ) {}

  /**
   * PostgreSQL (on a connection of its own, see PrismaService.ping) and Redis, checked at most once per
   * HEALTH_REUSE_MS however many probes arrive: under load a probe costs no database round trip of its own.
   */
  async check(): Promise<HealthReport> {
    if (this.last && performance.now() - this.last.at < HEALTH_REUSE_MS) return this.last.report;
    this.inFlight ??= healthReport('api', {
      database: () => this.prisma.ping(),
      redis: () => this.trainingQueue.client.ping(),
    }).finally(() => (this.inFlight = undefined));
    const report = await this.inFlight;
    this.last = { at: performance.now(), report };
    return report;
  }
}
