import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';

import { Config } from '@tracetune/config';

import { PrismaClient } from '../generated/prisma/client';

/**
 * The one Prisma client of a process, on the pg driver adapter (Prisma 7's query compiler is WebAssembly: nothing
 * native to download). Connects at module init so a bad DATABASE_URL fails the boot, not the first request.
 */
@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  constructor(config: Config) {
    super({ adapter: new PrismaPg({ connectionString: config.get('DATABASE_URL'), max: 10 }) });
  }

  async onModuleInit(): Promise<void> {
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
  }

  /** Liveness probe for /health. */
  async ping(): Promise<void> {
    await this.$queryRawUnsafe('SELECT 1');
  }
}
