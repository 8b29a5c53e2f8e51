import { Injectable } from '@nestjs/common';

import type { Prisma, TrainingMetric } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

@Injectable()
export class TrainingMetricsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** One row per (job, step): a replayed step replaces its row instead of adding a second one. */
  record(row: {
    id: string;
    jobId: string;
    organizationId: string;
    step: number;
    metrics: Prisma.InputJsonValue;
  }): Promise<TrainingMetric> {
    return this.prisma.trainingMetric.upsert({
      where: { jobId_step: { jobId: row.jobId, step: row.step } },
      create: row,
      update: { metrics: row.metrics },
    });
  }

  list(organizationId: string, jobId: string, afterStep = -1): Promise<TrainingMetric[]> {
    return this.prisma.trainingMetric.findMany({
      where: { organizationId, jobId, step: { gt: afterStep } },
      orderBy: { step: 'asc' },
    });
  }

  /** Tokens trained so far: the sum of the recorded steps' `trained_tokens` (exact after a resume drops steps). */
  async trainedTokens(jobId: string): Promise<bigint> {
    const [row] = await this.prisma.$queryRaw<{ total: bigint | null }[]>`
      SELECT SUM(ROUND((metrics->>'trained_tokens')::numeric))::bigint AS total
      FROM training_metrics WHERE job_id = ${jobId}`;
    return row?.total ?? 0n;
  }

  async deleteAfter(jobId: string, step: number): Promise<void> {
    await this.prisma.trainingMetric.deleteMany({ where: { jobId, step: { gt: step } } });
  }
}
