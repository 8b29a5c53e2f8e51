import { Injectable } from '@nestjs/common';

import type { CheckpointPermission } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

/** Who a fine-tuned model or checkpoint is shared with. Every method takes the owning organization. */
@Injectable()
export class CheckpointPermissionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Grants each organization access (one row per pair: granting twice returns the existing row). */
  async grant(
    organizationId: string,
    modelId: string,
    grants: { id: string; projectId: string }[],
  ): Promise<CheckpointPermission[]> {
    return this.prisma.$transaction(
      grants.map((g) =>
        this.prisma.checkpointPermission.upsert({
          where: { modelId_projectId: { modelId, projectId: g.projectId } },
          create: { id: g.id, modelId, organizationId, projectId: g.projectId },
          update: {},
        }),
      ),
    );
  }

  list(
    organizationId: string,
    modelId: string,
    query: { projectId?: string; order: 'asc' | 'desc' },
  ): Promise<CheckpointPermission[]> {
    return this.prisma.checkpointPermission.findMany({
      where: { organizationId, modelId, ...(query.projectId ? { projectId: query.projectId } : {}) },
      orderBy: [{ createdAt: query.order }, { id: query.order }],
    });
  }

  async revoke(organizationId: string, modelId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.checkpointPermission.deleteMany({
      where: { id, modelId, organizationId },
    });
    return count > 0;
  }
}
