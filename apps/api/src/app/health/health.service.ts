import { InjectQueue } from '@nestjs/bull';
import { Injectable } from '@nestjs/common';
import { TRAINING_QUEUE } from '@tracetune/contracts';
import { PrismaService } from '@tracetune/db';
import type { Queue } from 'bull';

export interface DependencyHealth {
  status: 'ok' | 'error';
  latency_ms: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  checks: { database: DependencyHealth; redis: DependencyHealth };
}

const CHECK_TIMEOUT_MS = 2_000;

async function timed(check: () => Promise<unknown>): Promise<DependencyHealth> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { status: 'ok', latency_ms: Math.round(performance.now() - started) };
  } catch (error) {
    return { status: 'error', latency_ms: Math.round(performance.now() - started), error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

@Injectable()
export class HealthService {
  constructor(
    private readonly prisma: PrismaService,
    @InjectQueue(TRAINING_QUEUE) private readonly trainingQueue: Queue,
  ) {}

  async check(): Promise<HealthReport> {
    const [database, redis] = await Promise.all([
      timed(() => this.prisma.ping()),
      timed(() => this.trainingQueue.client.ping()),
    ]);
    return { status: database.status === 'ok' && redis.status === 'ok' ? 'ok' : 'degraded', checks: { database, redis } };
  }
}
