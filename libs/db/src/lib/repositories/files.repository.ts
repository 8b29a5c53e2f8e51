import { Injectable } from '@nestjs/common';

import type { File, FileStatus, JobStatus, Prisma } from '../../generated/prisma/client';
import { withoutNul } from '../json';
import { PrismaService } from '../prisma.service';

/** Jobs in these statuses hold their files: deleting them is refused. */
export const LIVE_JOB_STATUSES: JobStatus[] = ['validating_files', 'queued', 'running', 'pausing', 'paused'];

/** Files of an organization. Every method takes the organization: no query can cross tenants. */
@Injectable()
export class FilesRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: {
    id: string;
    organizationId: string;
    filename: string;
    purpose: string;
    bytes: number;
    status: FileStatus;
    statusDetails: string | null;
    storageKey: string;
    sha256: string;
    lineCount: number | null;
    validation: Prisma.InputJsonValue | null;
  }): Promise<File> {
    const { validation, ...rest } = withoutNul(data);
    return this.prisma.file.create({
      data: { ...rest, bytes: BigInt(data.bytes), ...(validation ? { validation } : {}) },
    });
  }

  find(organizationId: string, id: string): Promise<File | null> {
    return this.prisma.file.findFirst({ where: { id, organizationId } });
  }

  /** A page in creation order, `limit + 1` rows so the caller can tell whether there is more. */
  async list(
    organizationId: string,
    options: { after?: string; limit: number; purpose?: string; order: 'asc' | 'desc' },
  ): Promise<File[] | null> {
    const where: Prisma.FileWhereInput = {
      organizationId,
      ...(options.purpose ? { purpose: options.purpose } : {}),
    };
    if (options.after) {
      const cursor = await this.find(organizationId, options.after);
      if (!cursor) return null;
      const cmp = options.order === 'desc' ? 'lt' : 'gt';
      where.OR = [
        { createdAt: { [cmp]: cursor.createdAt } },
        { createdAt: cursor.createdAt, id: { [cmp]: cursor.id } },
      ];
    }
    return this.prisma.file.findMany({
      where,
      orderBy: [{ createdAt: options.order }, { id: options.order }],
      take: options.limit + 1,
    });
  }

  /** Ids of live jobs that use the file (as training or validation data). */
  async liveJobsUsing(organizationId: string, fileId: string): Promise<string[]> {
    const jobs = await this.prisma.fineTuningJob.findMany({
      where: {
        organizationId,
        status: { in: LIVE_JOB_STATUSES },
        OR: [{ trainingFileId: fileId }, { validationFileId: fileId }],
      },
      select: { id: true },
    });
    return jobs.map((j) => j.id);
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    const { count } = await this.prisma.file.deleteMany({ where: { id, organizationId } });
    return count > 0;
  }

  /** Storage keys of every file row (for the orphan sweep at boot). */
  async allStorageKeys(): Promise<Set<string>> {
    const rows = await this.prisma.file.findMany({ select: { storageKey: true } });
    return new Set(rows.map((r) => r.storageKey));
  }
}
