import { Injectable } from '@nestjs/common';

import { JobStatus, type FineTuningJob, type Prisma } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export type JobCreateData = Omit<Prisma.FineTuningJobUncheckedCreateInput, 'createdAt'>;

/** Fine-tuning jobs. Reads are scoped by organization; the worker's writes are guarded by expected statuses. */
@Injectable()
export class FineTuningJobsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(data: JobCreateData): Promise<FineTuningJob> {
    return this.prisma.fineTuningJob.create({ data });
  }

  find(organizationId: string, id: string): Promise<FineTuningJob | null> {
    return this.prisma.fineTuningJob.findFirst({ where: { id, organizationId } });
  }

  /** Jobs per status over every organization (every status present, zeros included): one grouped count (metrics). */
  async countByStatus(): Promise<Record<JobStatus, number>> {
    const counts = Object.fromEntries(Object.values(JobStatus).map((s) => [s, 0])) as Record<
      JobStatus,
      number
    >;
    const rows = await this.prisma.fineTuningJob.groupBy({ by: ['status'], _count: { _all: true } });
    for (const row of rows) counts[row.status] = row._count._all;
    return counts;
  }

  /** Jobs of an organization that hold or wait for a worker (the active-jobs quota counts them). */
  countActive(organizationId: string): Promise<number> {
    return this.prisma.fineTuningJob.count({
      where: { organizationId, status: { in: ['validating_files', 'queued', 'running', 'pausing'] } },
    });
  }

  /** For the worker, which acts on behalf of the job's own organization. */
  findById(id: string): Promise<FineTuningJob | null> {
    return this.prisma.fineTuningJob.findUnique({ where: { id } });
  }

  findByIdempotencyKey(organizationId: string, idempotencyKey: string): Promise<FineTuningJob | null> {
    return this.prisma.fineTuningJob.findUnique({
      where: { organizationId_idempotencyKey: { organizationId, idempotencyKey } },
    });
  }

  findRecentByFingerprint(
    organizationId: string,
    requestFingerprint: string,
    since: Date,
  ): Promise<FineTuningJob | null> {
    return this.prisma.fineTuningJob.findFirst({
      where: { organizationId, requestFingerprint, createdAt: { gte: since } },
      orderBy: { createdAt: 'desc' },
    });
  }

  /** Newest first; `limit + 1` rows; metadata filter as exact key/value matches. */
  async list(
    organizationId: string,
    options: { after?: string; limit: number; metadata?: Record<string, string> },
  ): Promise<FineTuningJob[] | null> {
    const where: Prisma.FineTuningJobWhereInput = { organizationId };
    if (options.metadata && Object.keys(options.metadata).length > 0) {
      where.AND = Object.entries(options.metadata).map(([key, value]) => ({
        metadata: { path: [key], equals: value },
      }));
    }
    if (options.after) {
      const cursor = await this.find(organizationId, options.after);
      if (!cursor) return null;
      where.OR = [
        { createdAt: { lt: cursor.createdAt } },
        { createdAt: cursor.createdAt, id: { lt: cursor.id } },
      ];
    }
    return this.prisma.fineTuningJob.findMany({
      where,
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: options.limit + 1,
    });
  }

  /**
   * Moves a job to `data` only if it is in one of `from` (compare-and-set): late writes from a worker cannot undo a
   * cancel, and two workers cannot both claim a job. Returns the updated job, or null when the guard failed.
   */
  async transition(
    id: string,
    from: readonly JobStatus[],
    data: Prisma.FineTuningJobUncheckedUpdateInput,
  ): Promise<FineTuningJob | null> {
    const { count } = await this.prisma.fineTuningJob.updateMany({
      where: { id, status: { in: [...from] } },
      data,
    });
    return count === 0 ? null : this.findById(id);
  }

  /**
   * The running attempt's proof of life, written only while `attempt` is still the caller's (a worker whose job was
   * taken over stops writing). False when the job moved on: finished, or claimed by a newer attempt.
   */
  async heartbeat(id: string, attempt: number): Promise<boolean> {
    const { count } = await this.prisma.fineTuningJob.updateMany({
      where: { id, attempt, status: { in: ['running', 'pausing'] } },
      data: { heartbeatAt: new Date() },
    });
    return count > 0;
  }

  /** Jobs in the given statuses over every organization, oldest first (the worker's reconciliation sweep). */
  inStatuses(statuses: readonly JobStatus[], limit = 500): Promise<FineTuningJob[]> {
    return this.prisma.fineTuningJob.findMany({
      where: { status: { in: [...statuses] } },
      orderBy: { createdAt: 'asc' },
      take: limit,
    });
  }

  delete(id: string): Promise<unknown> {
    return this.prisma.fineTuningJob.delete({ where: { id } });
  }

  /** Live jobs that train from this model (it cannot be deleted meanwhile). */
  async liveJobsOnModel(model: string, statuses: readonly JobStatus[]): Promise<string[]> {
    const rows = await this.prisma.fineTuningJob.findMany({
      where: { model, status: { in: [...statuses] } },
      select: { id: true },
    });
    return rows.map((r) => r.id);
  }
}
