import { Injectable } from '@nestjs/common';

import type { Checkpoint, Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

@Injectable()
export class CheckpointsRepository {
  constructor(private readonly prisma: PrismaService) {}

  record(row: {
    id: string;
    jobId: string;
    organizationId: string;
    step: number;
    metrics: Prisma.InputJsonValue;
    artifactKey: string;
    modelId: string;
  }): Promise<Checkpoint> {
    return this.prisma.checkpoint.upsert({
      where: { jobId_step: { jobId: row.jobId, step: row.step } },
      create: row,
      update: { metrics: row.metrics, artifactKey: row.artifactKey },
    });
  }

  /** Newest first. */
  list(organizationId: string, jobId: string): Promise<Checkpoint[]> {
    return this.prisma.checkpoint.findMany({ where: { organizationId, jobId }, orderBy: { step: 'desc' } });
  }

  latest(jobId: string): Promise<Checkpoint | null> {
    return this.prisma.checkpoint.findFirst({ where: { jobId }, orderBy: { step: 'desc' } });
  }
}
