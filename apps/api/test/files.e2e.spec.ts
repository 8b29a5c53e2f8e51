import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import type { CreatedApiKey } from '@tracetune/contracts';
import { queryDatabase } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

const rftLine = (a: number, b: number) =>
  JSON.stringify({ messages: [{ role: 'user', content: `What is ${a}+${b}?` }], answer: String(a + b) });
const chatLine = (a: number, b: number) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: `What is ${a}+${b}?` },
      { role: 'assistant', content: String(a + b) },
    ],
  });
const jsonl = (lines: string[]) => `${lines.join('\n')}\n`;

/** Every file under a folder, recursively (to prove nothing is left behind). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('Files API (official openai SDK, real storage and PostgreSQL)', () => {
  let api: TestApi;
  let client: OpenAI;

  beforeAll(async () => {
    api = await startTestApi({ TRACETUNE_MAX_LINE_BYTES: String(1024 * 1024) });
    client = api.openai(api.adminKey);
  });
  afterAll(() => api.close());

  async function upload(content: string | Buffer, purpose = 'fine-tune', name = 'data.jsonl') {
    return client.files.create({
      file: await toFile(Buffer.from(content), name),
      purpose: purpose as 'fine-tune',
    });
  }

  async function fileRows(): Promise<number> {
    const rows = await queryDatabase<{ n: string }>(api.db.url, 'SELECT count(*)::text AS n FROM files');
    return Number(rows[0].n);
  }

  it('should store and validate an RFT file, so waitForProcessing returns processed', async () => {
    const created = await upload(
      jsonl([rftLine(1, 2), rftLine(3, 4), rftLine(5, 6)]),
      'fine-tune',
      'rft.jsonl',
    );
    expect(created).toMatchObject({
      object: 'file',
      purpose: 'fine-tune',
      filename: 'rft.jsonl',
      status: 'processed',
    });
    expect(created.id).toMatch(/^file-/);
    const done = await client.files.waitForProcessing(created.id);
    expect(done.status).toBe('processed');
    const validation = (done as unknown as { validation: Record<string, unknown> }).validation;
    expect(validation).toMatchObject({ format: 'rft', examples: 3, item_keys: { answer: 3 } });
  });

  it('should return the exact content and delete the file and its blob', async () => {
    const text = jsonl([chatLine(2, 2)]);
    const created = await upload(text);
    expect(created.status).toBe('processed');
    const content = await client.files.content(created.id);
    expect(await content.text()).toBe(text);
    const deleted = await client.files.delete(created.id);
    expect(deleted).toEqual({ id: created.id, object: 'file', deleted: true });
    await expect(client.files.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await filesUnder(api.dataDir)).some((p) => p.includes(created.id))).toBe(false);
  });

  it('should list across pages with the SDK cursor', async () => {
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await upload(jsonl([rftLine(i, i)]), 'fine-tune', `page-${i}.jsonl`)).id);
    const firstPage = await client.files.list({ limit: 2 });
    expect(firstPage.data).toHaveLength(2);
    expect(firstPage.has_more).toBe(true);
    const seen: string[] = [];
    for await (const file of client.files.list({ limit: 2, purpose: 'fine-tune' })) seen.push(file.id);
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(new Set(seen).size).toBe(seen.length);
    // Newest first, as OpenAI lists them.
    expect(seen.indexOf(ids[2])).toBeLessThan(seen.indexOf(ids[0]));
  });

  it.each([
    ['an empty file', '', /empty/],
    ['bytes that are not UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d, 0x0a]), /line 1 is not valid UTF-8/],
    [
      'invalid JSON at line 7',
      jsonl([
        ...Array.from({ length: 6 }, (_, i) => rftLine(i, 1)),
        '{"messages": [{"role": "user"',
        rftLine(9, 9),
      ]),
      /line 7 is not valid JSON/,
    ],
    [
      'a chat line without an assistant message',
      jsonl([JSON.stringify({ messages: [{ role: 'assistant', content: 'hi' }], x: 1 })]),
      /line 1/,
    ],
  ])('should mark %s as error with a line-numbered status_details', async (_name, content, detail) => {
    const created = await upload(content as string);
    const done = await client.files.waitForProcessing(created.id);
    expect(done.status).toBe('error');
    expect(done.status_details).toMatch(detail);
  });

  it('should report a 50 MB single line against a 1 MB line limit, streaming it without failing the upload', async () => {
    const line = JSON.stringify({
      messages: [{ role: 'user', content: 'x'.repeat(50 * 1024 * 1024) }],
      answer: '1',
    });
    const created = await upload(`${line}\n${rftLine(1, 1)}\n`);
    expect(created.status).toBe('error');
    expect(created.status_details).toMatch(/line 1 is longer than 1048576 bytes/);
    expect(created.bytes).toBeGreaterThan(50 * 1024 * 1024);
  });

  it('should refuse an unknown purpose with a 400 naming it, and keep nothing', async () => {
    const before = await fileRows();
    const error = await upload(jsonl([rftLine(1, 1)]), 'banana').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('purpose');
    expect(await fileRows()).toBe(before);
    expect((await filesUnder(join(api.dataDir, '.staging'))).length).toBe(0);
  });

  it('should keep nothing when an upload is cut off mid-way', async () => {
    const before = await fileRows();
    const storedBefore = (await filesUnder(api.dataDir)).length;
    const boundary = 'tracetuneboundary';
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${api.url}/v1/files`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${api.adminKey}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(10_000_000),
        },
      });
      req.on('error', () => resolve());
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfine-tune\r\n`);
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="cut.jsonl"\r\n\r\n`);
      req.write(`${rftLine(1, 2)}\n${rftLine(3, 4)}\n{"messages": [`);
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    // Give the server a moment to observe the disconnect and clean up.
    await new Promise((r) => setTimeout(r, 300));
    expect(await fileRows()).toBe(before);
    expect((await filesUnder(api.dataDir)).length).toBe(storedBefore);
  });

  it("should keep organizations apart: another org's key can neither see nor fetch the file", async () => {
    const mine = await upload(jsonl([rftLine(7, 7)]));
    const other = await api.root(api.adminKey).post<CreatedApiKey>('/admin/api-keys', {
      body: { name: 'b', role: 'member', organization_id: 'org-b' },
    });
    const theirs = api.openai(other.key);
    await expect(theirs.files.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(theirs.files.content(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(theirs.files.delete(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const listed = await theirs.files.list();
    expect(listed.data).toEqual([]);
  });

  it('should refuse to delete a file a live job uses, with a non-retryable 409', async () => {
    const file = await upload(jsonl([rftLine(1, 1)]));
    await queryDatabase(
      api.db.url,
      `INSERT INTO fine_tuning_jobs (id, organization_id, model, status, method, hyperparameters, training_file, seed, result_files)
       VALUES ('ftjob-live', 'org-default', 'tt-nano', 'running', '{}', '{}', $1, 1, '{}')`,
      [file.id],
    );
    const response = await fetch(`${api.url}/v1/files/${file.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${api.adminKey}` },
    });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('file_in_use');
    expect((await client.files.retrieve(file.id)).id).toBe(file.id);
  });
});

describe('Files API upload limit', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ TRACETUNE_MAX_UPLOAD_BYTES: '4096' });
  });
  afterAll(() => api.close());

  it('should answer 413 past the limit and keep nothing', async () => {
    const client = api.openai(api.adminKey);
    const big = Buffer.from(jsonl(Array.from({ length: 200 }, (_, i) => rftLine(i, i))));
    const error = await client.files
      .create({ file: await toFile(big, 'big.jsonl'), purpose: 'fine-tune' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe('file');
    const rows = await queryDatabase<{ n: string }>(api.db.url, 'SELECT count(*)::text AS n FROM files');
    expect(rows[0].n).toBe('0');
    expect(await filesUnder(api.dataDir)).toEqual([]);
  });
});
