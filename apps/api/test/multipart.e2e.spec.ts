import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { toFile } from 'openai';

import { queryDatabase } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

const BOUNDARY = 'ttBoundary7MA4YWxkTrZu0gW';
const LINE = `${JSON.stringify({ messages: [{ role: 'user', content: '1+1?' }], answer: '2' })}\n`;

/** One multipart part; `filename` makes it a file part. */
function part(name: string, content: string, filename?: string): string {
  const disposition = `form-data; name="${name}"${filename === undefined ? '' : `; filename="${filename}"`}`;
  const type = filename === undefined ? '' : 'Content-Type: application/octet-stream\r\n';
  return `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n${content}\r\n`;
}
const end = `--${BOUNDARY}--\r\n`;
const filePartHead = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.jsonl"\r\n\r\n`;

interface RawAnswer {
  status: number;
  body: { error?: { param?: string | null; code?: string | null; message?: string } };
}

/**
 * Writes a request byte for byte on a plain socket (no HTTP library fixes the framing up), then reads the answer.
 * `contentLength` defaults to the body's own length: the server sees a complete request with a broken form.
 * With `hangUp`, the socket is closed after the body instead (a client that vanishes mid-upload).
 */
function rawUpload(
  api: TestApi,
  body: string,
  options: { contentType?: string; contentLength?: number; hangUp?: boolean } = {},
): Promise<RawAnswer | null> {
  const { hostname, port } = new URL(api.url);
  const head = [
    'POST /v1/files HTTP/1.1',
    `Host: ${hostname}:${port}`,
    `Authorization: Bearer ${api.adminKey}`,
    `Content-Type: ${options.contentType ?? `multipart/form-data; boundary=${BOUNDARY}`}`,
    `Content-Length: ${options.contentLength ?? Buffer.byteLength(body)}`,
    'Connection: close',
  ].join('\r\n');
  return new Promise((resolve) => {
    let answer = '';
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${head}\r\n\r\n${body}`);
      if (options.hangUp) setTimeout(() => socket.destroy(), 50);
    });
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (!match) return resolve(null);
      resolve({ status: Number(match[1]), body: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) });
    });
  });
}

/** Rows and blobs (staging included): what an upload may leave behind. */
async function leftovers(api: TestApi): Promise<{ rows: number; blobs: number }> {
  const rows = await queryDatabase<{ n: string }>(api.db.url, 'SELECT count(*)::text AS n FROM files');
  const entries = await readdir(api.dataDir, { recursive: true, withFileTypes: true });
  return { rows: Number(rows[0].n), blobs: entries.filter((e) => e.isFile()).length };
}

async function settled(api: TestApi, expected: { rows: number; blobs: number }): Promise<void> {
  for (let i = 0; i < 50 && JSON.stringify(await leftovers(api)) !== JSON.stringify(expected); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await leftovers(api)).toEqual(expected);
}

// Each case runs in-process: a stream error nobody listens to is an uncaught exception, which fails the test here
// (and kills the api in production).
describe('POST /v1/files multipart framing (raw sockets)', () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ TRACETUNE_MAX_UPLOAD_BYTES: '65536' });
  });
  afterAll(() => api.close());

  const purpose = part('purpose', 'fine-tune');
  it.each([
    ['the body ends right after the file part headers', purpose + filePartHead, 400, 'file'],
    ['the body ends inside the file content', purpose + filePartHead + LINE + LINE, 400, 'file'],
    ['the file part comes first and the body ends inside it', filePartHead + LINE, 400, 'file'],
    ['the body ends inside a part header', `${purpose}--${BOUNDARY}\r\nContent-Disp`, 400, 'file'],
    ['the closing boundary is missing', purpose + part('file', LINE, 'a.jsonl'), 400, 'file'],
    [
      'two file parts',
      purpose + part('file', LINE, 'a.jsonl') + part('file', LINE, 'b.jsonl') + end,
      400,
      'file',
    ],
    [
      'a second file part has another name',
      part('file', LINE, 'a.jsonl') + part('x', LINE, 'b') + end,
      400,
      'file',
    ],
    ["'file' is a plain field", purpose + part('file', LINE) + end, 400, 'file'],
    ['there is no file part', purpose + end, 400, 'file'],
    [
      'there is an unknown field',
      purpose + part('colour', 'red') + part('file', LINE, 'a.jsonl') + end,
      400,
      'colour',
    ],
    ["'purpose' is given twice", purpose + purpose + part('file', LINE, 'a.jsonl') + end, 400, 'purpose'],
    ['purpose is missing', part('file', LINE, 'a.jsonl') + end, 400, 'purpose'],
    [
      'the file name holds a control character',
      purpose + part('file', LINE, 'a\u0001.jsonl') + end,
      400,
      'file',
    ],
    ['the body is not a form at all', 'hello there', 400, 'file'],
    ['the body is empty', '', 400, 'file'],
    [
      'the file is over the upload limit',
      purpose + part('file', LINE.repeat(2000), 'a.jsonl') + end,
      413,
      'file',
    ],
  ])('should refuse (4xx naming the field) and keep nothing when %s', async (_name, body, status, param) => {
    const before = await leftovers(api);
    const answer = await rawUpload(api, body);
    expect(answer?.status).toBe(status);
    expect(answer?.body.error?.param).toBe(param);
    await settled(api, before);
  });

  it.each([
    ['no boundary', 'multipart/form-data'],
    ['an empty boundary', 'multipart/form-data; boundary='],
    ['plain text', 'text/plain'],
  ])('should refuse a content type with %s with 400 naming file', async (_name, contentType) => {
    const answer = await rawUpload(api, purpose + part('file', LINE, 'a.jsonl') + end, { contentType });
    expect(answer?.status).toBe(400);
    expect(answer?.body.error?.param).toBe('file');
  });

  it('should survive clients that vanish mid-file, keep nothing, and still serve uploads and /health', async () => {
    const before = await leftovers(api);
    await Promise.all(
      [purpose + filePartHead, purpose + filePartHead + LINE, `${purpose}--${BOUNDARY}\r\nCon`].map((body) =>
        rawUpload(api, body, { contentLength: 1_000_000, hangUp: true }),
      ),
    );
    await settled(api, before);
    expect((await fetch(`${api.url}/health`)).status).toBe(200);
    const client = api.openai(api.adminKey);
    const file = await client.files.create({
      file: await toFile(Buffer.from(LINE), 'ok.jsonl'),
      purpose: 'fine-tune',
    });
    expect(file.status).toBe('processed');
    await expect(client.files.retrieve(file.id)).resolves.toMatchObject({ id: file.id });
  });

  it('should refuse a second file part sent through the SDK-style form, naming file', async () => {
    const form = new FormData();
    form.append('purpose', 'fine-tune');
    form.append('file', new Blob([LINE]), 'a.jsonl');
    form.append('file', new Blob([LINE]), 'b.jsonl');
    const before = await leftovers(api);
    const response = await fetch(`${api.url}/v1/files`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.adminKey}` },
      body: form,
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as RawAnswer['body']).error?.param).toBe('file');
    await settled(api, before);
    expect((await api.openai(api.adminKey).files.list()).data.map((f) => f.filename)).not.toContain(
      'b.jsonl',
    );
  });
});
