import { Injectable } from '@nestjs/common';

import type { Model, Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

/** Models an organization may use: global ones (built-in, imported: organizationId null) and its own. */
@Injectable()
export class ModelsRepository {
  constructor(private readonly prisma: PrismaService) {}

  visible(organizationId: string): Promise<Model[]> {
    return this.prisma.model.findMany({
      where: {
        OR: [
          { organizationId: null },
          { organizationId },
          { permissions: { some: { projectId: organizationId } } },
        ],
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
    });
  }

  findVisible(organizationId: string, id: string): Promise<Model | null> {
    // Shared fine-tuned models and checkpoints (checkpoint permissions) are visible to the organizations granted them.
    return this.prisma.model.findFirst({
      where: {
        id,
        OR: [
          { organizationId: null },
          { organizationId },
          { permissions: { some: { projectId: organizationId } } },
        ],
      },
    });
  }

  findById(id: string): Promise<Model | null> {
    return this.prisma.model.findUnique({ where: { id } });
  }

  upsert(data: Prisma.ModelUncheckedCreateInput): Promise<Model> {
    const { id, ...rest } = data;
    return this.prisma.model.upsert({ where: { id }, create: data, update: rest });
  }

  /** Deletes a fine-tuned model and the checkpoint models of its job; returns the artifact keys to remove. */
  async deleteWithCheckpoints(id: string): Promise<string[]> {
    return this.prisma.$transaction(async (tx) => {
      const self = await tx.model.findUnique({ where: { id } });
      if (!self) return [];
      const checkpoints = self.jobId
        ? await tx.model.findMany({ where: { jobId: self.jobId, kind: 'checkpoint' } })
        : [];
      await tx.model.deleteMany({ where: { id: { in: [id, ...checkpoints.map((c) => c.id)] } } });
      return [self, ...checkpoints].flatMap((m) => (m.artifactKey ? [m.artifactKey] : []));
    });
  }
}
