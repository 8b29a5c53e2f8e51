import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
/** The shared PostgreSQL server of the tests (a fault test may pass its own cluster's URL instead). */
const SERVER_URL = 'postgresql://postgres@127.0.0.1:5432';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** Repository root, found from this file (libs/testing/src/lib). */
export const WORKSPACE_ROOT = join(__dirname, '..', '..', '..', '..');

/**
 * A fresh PostgreSQL database with every committed migration applied through the project's own migration script:
 * each test suite gets real, isolated tables. `drop()` removes it.
 */
export async function createTestDatabase(prefix = 'tt_test', server = SERVER_URL): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const url = `${server}/${name}`;
  await run(process.execPath, [join(WORKSPACE_ROOT, 'tools', 'scripts', 'db.mjs'), 'deploy'], {
    cwd: WORKSPACE_ROOT,
    env: { ...process.env, DATABASE_URL: url },
  });
  return { name, url, drop: () => dropDatabase(name, server) };
}

export async function dropDatabase(name: string, server = SERVER_URL): Promise<void> {
  const client = new Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Runs one query against a database; for assertions on raw rows. */
export async function queryDatabase<T extends Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
