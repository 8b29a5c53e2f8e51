import { Injectable } from '@nestjs/common';

import { newId } from '@tracetune/contracts';

import type { EventLevel, EventType, FineTuningEvent, Prisma } from '../../generated/prisma/client';
import { withoutNul } from '../json';
import { PrismaService } from '../prisma.service';

@Injectable()
export class FineTuningEventsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Stores an event once per id: a write retried after a try that did commit (its answer lost with the connection)
   * finds its row and changes nothing, so callers that retry keep one id for every try.
   */
  add(event: {
    id: string;
    jobId: string;
    organizationId: string;
    level: EventLevel;
    type: EventType;
    message: string;
    data?: Prisma.InputJsonValue | null;
  }): Promise<FineTuningEvent> {
    const { data, message, ...rest } = event;
    return this.prisma.fineTuningEvent.upsert({
      where: { id: event.id },
      create: { ...rest, message: withoutNul(message), ...(data ? { data: withoutNul(data) } : {}) },
      update: {},
    });
  }

  /** A 'message' event about a job; a write that may be retried passes one `id` for every try. */
  message(
    job: { id: string; organizationId: string },
    level: EventLevel,
    message: string,
    options: { data?: Prisma.InputJsonValue | null; id?: string } = {},
  ): Promise<FineTuningEvent> {
    return this.add({
      id: options.id ?? newId('event'),
      jobId: job.id,
      organizationId: job.organizationId,
      level,
      type: 'message',
      message,
      data: options.data ?? null,
    });
  }

  /** Newest first, as OpenAI lists events; `limit + 1` rows. */
  async list(
    organizationId: string,
    jobId: string,
    options: { after?: string; limit: number },
  ): Promise<FineTuningEvent[] | null> {
    const where: Prisma.FineTuningEventWhereInput = { organizationId, jobId };
    if (options.after) {
      const cursor = await this.prisma.fineTuningEvent.findFirst({
        where: { id: options.after, jobId, organizationId },
      });
      if (!cursor) return null;
      where.seq = { lt: cursor.seq };
    }
    return this.prisma.fineTuningEvent.findMany({ where, orderBy: { seq: 'desc' }, take: options.limit + 1 });
  }

  /** Events after a sequence number, oldest first (live streams). */
  since(organizationId: string, jobId: string, afterSeq: bigint, limit = 500): Promise<FineTuningEvent[]> {
    return this.prisma.fineTuningEvent.findMany({
      where: { organizationId, jobId, seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take: limit,
    });
  }

  /**
   * A resumed run replays the steps after its checkpoint (after step 0: all of them): every event about those steps
   * (metrics, samples, checkpoints, evaluations — any event whose data names a later `step`) goes, so each step's
   * events appear exactly once.
   */
  async deleteStepEventsAfter(jobId: string, step: number): Promise<void> {
    await this.prisma.$executeRaw`DELETE FROM fine_tuning_events WHERE job_id = ${jobId}
      AND jsonb_typeof(data->'step') = 'number' AND (data->>'step')::numeric > ${step}`;
  }
}
