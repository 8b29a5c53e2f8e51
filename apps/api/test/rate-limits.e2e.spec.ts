import { readdir } from 'node:fs/promises';
import OpenAI, { toFile } from 'openai';

import type { CreatedApiKey } from '@tracetune/contracts';
import { mathLine, queryDatabase, tinyRlJob } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

type RateLimited = InstanceType<typeof OpenAI.RateLimitError>;

const line = `${mathLine(1, 1)}\n`;
const job = (file: string) => tinyRlJob(file);

async function rejection(call: Promise<unknown>): Promise<RateLimited> {
  const error = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OpenAI.RateLimitError);
  return error as RateLimited;
}

/** OpenAI's 429: the resource in `type`, `rate_limit_exceeded`, and a retry-after the SDK honours. */
function expect429(error: RateLimited, type: string): void {
  expect(error.error).toMatchObject({ type, code: 'rate_limit_exceeded', param: null });
  expect(Number(error.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(Number(error.headers.get('retry-after-ms'))).toBeGreaterThan(0);
}

/**
 * Two api instances of one deployment (same PostgreSQL, same Redis prefix) share every limit: requests alternate
 * between them and are still counted once.
 */
describe('rate limits and quotas across two api instances', () => {
  let one: TestApi;
  let two: TestApi;
  const keys: Record<string, string> = {};
  const env = {
    TRACETUNE_RATE_LIMIT_RPM_PER_KEY: '6',
    TRACETUNE_RATE_LIMIT_RPM_PER_ORG: '9',
    TRACETUNE_RATE_LIMIT_ACTIVE_JOBS_PER_ORG: '1',
    TRACETUNE_RATE_LIMIT_UPLOAD_BYTES_PER_HOUR: String(4 * line.length),
  };

  beforeAll(async () => {
    // The admin key is limited too: it only creates the member keys here (4 requests of its 6). Each test uses its
    // own organization, so the limits of one do not spill into the next.
    one = await startTestApi(env);
    two = await startTestApi(env, { shareWith: one });
    for (const [name, organization] of [
      ['rpm1', 'org-rpm'],
      ['rpm2', 'org-rpm'],
      ['jobs', 'org-jobs'],
      ['up', 'org-up'],
    ]) {
      const created = await one.root(one.adminKey).post<CreatedApiKey>('/admin/api-keys', {
        body: { name, role: 'member', organization_id: organization },
      });
      keys[name] = created.key;
    }
  });
  afterAll(async () => {
    await two.close();
    await one.close();
  });

  const client = (api: TestApi, key: string) => api.openai(key);

  it('should count requests per key and per organization on both instances, with x-ratelimit headers', async () => {
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { response } = await client(i % 2 ? two : one, keys['rpm1'])
        .files.list()
        .withResponse();
      seen.push(response.headers.get('x-ratelimit-remaining-requests') ?? '');
    }
    // The tighter of the two windows: the key's 6 until the organization's 9 is closer.
    expect(seen).toEqual(['5', '4', '3', '2', '1', '0']);
    const byKey = await rejection(client(two, keys['rpm1']).files.list());
    expect429(byKey, 'requests');
    expect(byKey.message).toMatch(/requests per minute on API key/);
    // Same organization, other key: 3 more fit in the organization's 9 (one refused request was not counted).
    for (let i = 0; i < 3; i++) await client(i % 2 ? one : two, keys['rpm2']).files.list();
    const byOrg = await rejection(client(one, keys['rpm2']).files.list());
    expect429(byOrg, 'requests');
    expect(byOrg.message).toMatch(/requests per minute on organization org-rpm/);
    // Another organization is not affected, nor is the public /health.
    await expect(client(two, keys['up']).files.list()).resolves.toBeDefined();
    expect((await fetch(`${one.url}/health`)).status).toBe(200);
  });

  it('should allow one active job per organization even when creations race on two instances', async () => {
    const jobs = client(one, keys['jobs']);
    const file = await jobs.files.create({
      file: await toFile(Buffer.from(line.repeat(2)), 'a.jsonl'),
      purpose: 'fine-tune',
    });
    const results = await Promise.allSettled(
      [one, two, one].map((api) => client(api, keys['jobs']).fineTuning.jobs.create(job(file.id))),
    );
    const created = results.filter((r) => r.status === 'fulfilled');
    expect(created).toHaveLength(1);
    for (const refused of results.filter((r) => r.status === 'rejected')) {
      expect429((refused as PromiseRejectedResult).reason as RateLimited, 'jobs');
    }
    const rows = await queryDatabase<{ n: string }>(
      one.db.url,
      "SELECT count(*)::text AS n FROM fine_tuning_jobs WHERE organization_id = 'org-jobs'",
    );
    expect(rows[0].n).toBe('1');
    // Cancelling frees the slot.
    await jobs.fineTuning.jobs.cancel((created[0] as PromiseFulfilledResult<{ id: string }>).value.id);
    await expect(client(two, keys['jobs']).fineTuning.jobs.create(job(file.id))).resolves.toMatchObject({
      status: 'queued',
    });
  });

  it('should stop uploads at the hourly byte quota with a 429, keeping nothing of the refused upload', async () => {
    const uploads = client(two, keys['up']);
    const stored = async () => (await readdir(one.dataDir, { recursive: true })).length;
    await uploads.files.create({
      file: await toFile(Buffer.from(line.repeat(2)), 'b.jsonl'),
      purpose: 'fine-tune',
    });
    const before = await stored();
    // 2 of the hour's 4 lines are used: this one needs 3, and is cut off while it streams.
    const over = await rejection(
      client(one, keys['up']).files.create({
        file: await toFile(Buffer.from(line.repeat(3)), 'c.jsonl'),
        purpose: 'fine-tune',
      }),
    );
    expect429(over, 'upload_bytes');
    expect(await stored()).toBe(before);
    const rows = await queryDatabase<{ n: string }>(
      one.db.url,
      "SELECT count(*)::text AS n FROM files WHERE organization_id = 'org-up'",
    );
    expect(rows[0].n).toBe('1');
    // The refused upload used nothing: 2 lines still fit, then nothing is left this hour and uploads are refused
    // before a byte is read.
    await uploads.files.create({
      file: await toFile(Buffer.from(line.repeat(2)), 'e.jsonl'),
      purpose: 'fine-tune',
    });
    expect429(
      await rejection(
        uploads.files.create({ file: await toFile(Buffer.from(line), 'd.jsonl'), purpose: 'fine-tune' }),
      ),
      'upload_bytes',
    );
  });
});
