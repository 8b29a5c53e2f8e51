import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { Pool } from 'pg';

import { Config } from '@tracetune/config';

import { PrismaClient } from '../generated/prisma/client';

/**
 * The one Prisma client of a process, on the pg driver adapter (Prisma 7's query compiler is WebAssembly: nothing
 * native to download). Connects at module init so a bad DATABASE_URL fails the boot, not the first request.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  /** One connection of its own for `ping`, opened on first use. */
  private pingPool?: Pool;

  constructor(private readonly config: Config) {
    super({ adapter: new PrismaPg({ connectionString: config.get('DATABASE_URL'), max: 10 }) });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pingPool?.end();
    await this.$disconnect();
  }

  /**
   * Liveness probe for /health, on a connection of its own: when every connection of the query pool is busy under
   * load, the probe must not queue behind the requests and make a working database look dead.
   */
  async ping(): Promise<void> {
    if (!this.pingPool) {
      this.pingPool = new Pool({
        connectionString: this.config.get('DATABASE_URL'),
        max: 1,
        connectionTimeoutMillis: 2_000,
        idleTimeoutMillis: 60_000,
      });
      // A dropped idle connection (a database restart) is reopened by the next ping; unhandled, it would crash.
      this.pingPool.on('error', () => undefined);
    }
    await this.pingPool.query('SELECT 1');
  }
}
