import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import OpenAI from 'openai';

import { Config, loadConfig } from '@tracetune/config';
import { randomToken } from '@tracetune/contracts';
import { createTestDatabase, type TestDatabase } from '@tracetune/testing';

import { createApp } from '../src/app/create-app';

export interface TestApi {
  app: NestExpressApplication;
  /** http://127.0.0.1:<port> */
  url: string;
  adminKey: string;
  db: TestDatabase;
  dataDir: string;
  /** The official SDK pointed at /v1 with the given key (no retries, so tests see the first answer). */
  openai(apiKey: string): OpenAI;
  /** The SDK pointed at the server root, for /admin and other non-/v1 routes. */
  root(apiKey: string): OpenAI;
  close(): Promise<void>;
}

/**
 * Boots the real api on an ephemeral port against a fresh, migrated PostgreSQL database (on the shared test server,
 * or on `options.server`) and the local Redis. With `options.shareWith`, a second instance of the same deployment
 * instead (same database, data folder, key and queue prefix), as behind a load balancer; closing it leaves what it
 * shares in place.
 */
export async function startTestApi(
  env: Record<string, string> = {},
  options: { server?: string; shareWith?: TestApi } = {},
): Promise<TestApi> {
  const { shareWith } = options;
  const db = shareWith?.db ?? (await createTestDatabase('tt_test', options.server));
  const dataDir = shareWith?.dataDir ?? (await mkdtemp(join(tmpdir(), 'tt-api-')));
  const adminKey = shareWith?.adminKey ?? `tt-${randomToken(40)}`;
  const config = new Config(
    loadConfig({
      DATABASE_URL: db.url,
      TRACETUNE_ADMIN_KEY: adminKey,
      TRACETUNE_DATA_DIR: dataDir,
      TRACETUNE_QUEUE_PREFIX: `test_${db.name}`,
      LOG_LEVEL: 'silent',
      NODE_ENV: 'test',
      ...env,
    }),
  );
  const app = await createApp(config);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    adminKey,
    db,
    dataDir,
    openai: (apiKey) => new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0 }),
    root: (apiKey) => new OpenAI({ apiKey, baseURL: url, maxRetries: 0 }),
    close: async () => {
      await app.close();
      if (shareWith) return;
      await db.drop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
