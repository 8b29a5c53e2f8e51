import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';

import { PrismaService } from '../prisma.service';

/**
 * This deployment's identity: the one row of `deployment`, written by the migration that created the table (a fresh
 * one if someone deleted it). Everything that must differ between two deployments sharing infrastructure (the Bull
 * key prefix) derives from it.
 */
@Injectable()
export class DeploymentRepository {
  constructor(private readonly prisma: PrismaService) {}

  async id(): Promise<string> {
    const row = await this.prisma.deployment.findFirst({ orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    if (row) return row.id;
    await this.prisma.deployment.create({ data: { id: randomUUID().replaceAll('-', '') } });
    return this.id();
  }

  /**
   * The Bull key prefix: the configured one (TRACETUNE_QUEUE_PREFIX), else `tt-` and this deployment's id, so two
   * deployments (two databases) on one Redis each see only their own queue jobs.
   */
  async queuePrefix(configured: string | undefined): Promise<string> {
    return configured ?? `tt-${(await this.id()).slice(0, 16)}`;
  }
}
