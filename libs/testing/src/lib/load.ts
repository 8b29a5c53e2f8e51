import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import OpenAI, { toFile } from 'openai';

import { startApp, type RunningProcess } from './apps';
import { mathLine, tinyRlJob } from './jobs';
import { createTestDatabase, queryDatabase, type TestDatabase } from './test-database';

/**
 * The load scenario of the reliability work, shared by the api's load test (which asserts on it) and bench/load
 * (which times it): the three built apps as real processes, two organizations, a training job and a hostile grader,
 * then a burst of requests sent all at once while /health is probed from a thread of its own.
 */

/** The limits the burst is built against (each request below is counted against them). */
export const LOAD_LIMITS = {
  rpmPerKey: 60,
  rpmPerOrg: 100,
  streamsPerKey: 2,
  streamsPerOrg: 4,
  activeJobsPerOrg: 1,
} as const;

/** A `graders/run` call whose JavaScript grader never returns (asking for 60 s; the run cap stops it sooner). */
export const SPIN_GRADER_RUN = {
  grader: {
    type: 'javascript',
    name: 'spin',
    source: 'function grade() { while (true) {} }',
    timeout_ms: 60_000,
  },
  model_sample: 'x',
} as const;

/** `graders/run` calls are capped at this, so the hostile grader spins through the whole burst. */
export const HOSTILE_GRADER_MS = 30_000;

export interface LoadStack {
  db: TestDatabase;
  dataDir: string;
  adminKey: string;
  api: RunningProcess;
  worker: RunningProcess;
  inference: RunningProcess;
  /** The official SDK for `key` on the api's /v1 (no retries: every answer is seen as it came). */
  client(key: string): OpenAI;
  close(): Promise<void>;
}

/** PostgreSQL database, data folder, inference, one worker and the api, each a real process of the built apps. */
export async function startLoadStack(): Promise<LoadStack> {
  const db = await createTestDatabase('tt_load');
  const dataDir = await mkdtemp(join(tmpdir(), 'tt-load-'));
  const adminKey = `tt-load-admin-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const shared = {
    DATABASE_URL: db.url,
    REDIS_URL: 'redis://127.0.0.1:6379',
    TRACETUNE_QUEUE_PREFIX: `test_${db.name}`,
    TRACETUNE_DATA_DIR: dataDir,
    TRACETUNE_BACKEND: 'wasm',
  };
  const started: RunningProcess[] = [];
  try {
    const inference = await startApp(
      'inference',
      { ...shared, TRACETUNE_INFERENCE_THREADS: '1' },
      (h) => (h['details'] as { backend?: string } | undefined)?.backend !== 'starting',
    );
    started.push(inference);
    const worker = await startApp('worker', { ...shared, TRACETUNE_WORKER_ID: 'load-worker' });
    started.push(worker);
    const api = await startApp('api', {
      ...shared,
      TRACETUNE_ADMIN_KEY: adminKey,
      PROFILE_ME: '1',
      INFERENCE_URL: inference.url,
      TRACETUNE_GRADER_RUN_TIMEOUT_MS: String(HOSTILE_GRADER_MS),
      TRACETUNE_RATE_LIMIT_RPM_PER_KEY: String(LOAD_LIMITS.rpmPerKey),
      TRACETUNE_RATE_LIMIT_RPM_PER_ORG: String(LOAD_LIMITS.rpmPerOrg),
      TRACETUNE_RATE_LIMIT_STREAMS_PER_KEY: String(LOAD_LIMITS.streamsPerKey),
      TRACETUNE_RATE_LIMIT_STREAMS_PER_ORG: String(LOAD_LIMITS.streamsPerOrg),
      TRACETUNE_RATE_LIMIT_ACTIVE_JOBS_PER_ORG: String(LOAD_LIMITS.activeJobsPerOrg),
    });
    started.push(api);
    return {
      db,
      dataDir,
      adminKey,
      api,
      worker,
      inference,
      client: (key) => new OpenAI({ apiKey: key, baseURL: `${api.url}/v1`, maxRetries: 0, timeout: 120_000 }),
      close: async () => {
        await api.stop('SIGTERM');
        await Promise.all(started.map((p) => p.stop('SIGKILL')));
        await db.drop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await Promise.all(started.map((p) => p.stop('SIGKILL')));
    await db.drop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function upload(client: OpenAI, lines: number): Promise<string> {
  const body = Array.from({ length: lines }, (_, i) => mathLine(i, 1)).join('\n');
  return (
    await client.files.create({ file: await toFile(Buffer.from(body), 'load.jsonl'), purpose: 'fine-tune' })
  ).id;
}

/** Organization A's and B's keys, the training job of A, the files, and the hostile grader of B (running). */
export interface LoadTenants {
  orgA: string;
  orgB: string;
  keys: { a0: string; a1: string; a2: string; b0: string; b1: string; b2: string };
  jobA: string;
  fileA: string;
  fileB: string;
  /** Requests made before the burst by organization B (they count against its requests per minute). */
  setupRequestsB: number;
  /** Resolves when the hostile grader's `graders/run` returns (at HOSTILE_GRADER_MS). */
  hostileGrader: Promise<OpenAI.FineTuning.Alpha.GraderRunResponse>;
  hostileGraderDone(): boolean;
}

/**
 * Two fresh organizations (named after `round`): A uploads a training file and starts a job (`jobSteps` steps),
 * which is left to train; once it runs, B uploads a file and starts a `while (true)` grader through graders/run.
 * Key a0 and b0 do the setup, so the burst's keys start with empty windows.
 */
export async function prepareTenants(stack: LoadStack, round: string, jobSteps = 12): Promise<LoadTenants> {
  const orgA = `org-load-a-${round}`;
  const orgB = `org-load-b-${round}`;
  const keys = {} as Record<keyof LoadTenants['keys'], string>;
  for (const name of ['a0', 'a1', 'a2', 'b0', 'b1', 'b2'] as const) {
    const response = await fetch(`${stack.api.url}/admin/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name, role: 'member', organization_id: name.startsWith('a') ? orgA : orgB }),
    });
    if (!response.ok) throw new Error(`admin key creation: ${response.status} ${await response.text()}`);
    keys[name] = ((await response.json()) as { key: string }).key;
  }
  const a0 = stack.client(keys.a0);
  const fileA = await upload(a0, 2 * jobSteps);
  const jobA = (await a0.fineTuning.jobs.create(tinyRlJob(fileA))).id;
  // Polled in PostgreSQL, not through the API: the burst's counts start from known numbers.
  const deadline = Date.now() + 180_000;
  for (;;) {
    const [row] = await queryDatabase<{ status: string }>(
      stack.db.url,
      'SELECT status::text AS status FROM fine_tuning_jobs WHERE id = $1',
      [jobA],
    );
    if (row?.status === 'running') break;
    if ((row && ['failed', 'cancelled', 'succeeded'].includes(row.status)) || Date.now() > deadline) {
      throw new Error(`job ${jobA} did not start running (status ${row?.status})\n${stack.worker.output()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const b0 = stack.client(keys.b0);
  const fileB = await upload(b0, 4);
  let done = false;
  const hostileGrader = b0.fineTuning.alpha.graders
    .run(SPIN_GRADER_RUN as never)
    .finally(() => (done = true));
  // Let it reach its thread and start spinning before anything else is sent.
  await new Promise((r) => setTimeout(r, 500));
  return {
    orgA,
    orgB,
    keys,
    jobA,
    fileA,
    fileB,
    setupRequestsB: 2,
    hostileGrader,
    hostileGraderDone: () => done,
  };
}

/** One request of the burst: who sends it, what it is (a label for the report) and the SDK call. */
export interface LoadRequest {
  key: keyof LoadTenants['keys'];
  kind: string;
  send(client: OpenAI): Promise<unknown>;
}

/**
 * The burst: 200 requests over every public endpoint family from four keys of two organizations.
 * - a1 (A): 75 reads of A's files, models, job, events and checkpoints; its key allows 60 a minute → 15 refused.
 * - a2 (A): 12 streamed chats (2 streams per key → refused while two are open) and 8 reads of B's objects (404).
 * - b1, b2 (B): 52 and 53 requests (under 60 each): uploads, graders run and validate, chats, lists, file content,
 *   and two job creations (one active job per organization → at most one created). With b0's 2 setup requests B
 *   sends 107 in the minute against 100 → exactly 7 refused, with the organization named.
 */
export function loadBurst(t: LoadTenants): LoadRequest[] {
  const requests: LoadRequest[] = [];
  const add = (key: LoadRequest['key'], kind: string, n: number, send: LoadRequest['send']) => {
    for (let i = 0; i < n; i++) requests.push({ key, kind, send });
  };
  const chat = { model: 'tt-nano', messages: [{ role: 'user' as const, content: 'Count:' }], max_tokens: 48 };
  const quickGrader = {
    type: 'string_check',
    name: 'eq',
    input: '{{sample.output_text}}',
    reference: 'ok',
    operation: 'eq',
  } as const;

  // a1: 75 reads in organization A.
  const reads: [string, LoadRequest['send']][] = [
    ['files.list', (c) => c.files.list()],
    ['files.retrieve', (c) => c.files.retrieve(t.fileA)],
    ['models.list', (c) => c.models.list()],
    ['models.retrieve', (c) => c.models.retrieve('tt-nano')],
    ['jobs.list', (c) => c.fineTuning.jobs.list({ limit: 5 })],
    ['jobs.retrieve', (c) => c.fineTuning.jobs.retrieve(t.jobA)],
    ['jobs.events', (c) => c.fineTuning.jobs.listEvents(t.jobA)],
    ['jobs.checkpoints', (c) => c.fineTuning.jobs.checkpoints.list(t.jobA)],
  ];
  for (let i = 0; i < 75; i++) add('a1', reads[i % reads.length][0], 1, reads[i % reads.length][1]);

  // a2: streams, and reads of the other organization's objects.
  add('a2', 'chat.stream', 12, async (c) => {
    const stream = await c.chat.completions.create({ ...chat, stream: true });
    let chunks = 0;
    for await (const chunk of stream) chunks += chunk.choices.length;
    if (chunks === 0) throw new Error('a stream without choices');
  });
  add('a2', 'cross.files.retrieve', 4, (c) => c.files.retrieve(t.fileB));
  add('a2', 'cross.files.content', 4, (c) => c.files.content(t.fileB).then((r) => r.text()));

  // b1 and b2: writes and reads of organization B.
  const bMix: [string, number, LoadRequest['send']][] = [
    [
      'files.create',
      8,
      async (c) =>
        c.files.create({
          file: await toFile(Buffer.from(`${mathLine(1, 1)}\n`), 'b.jsonl'),
          purpose: 'fine-tune',
        }),
    ],
    ['graders.run', 6, (c) => c.fineTuning.alpha.graders.run({ grader: quickGrader, model_sample: 'ok' })],
    ['graders.validate', 6, (c) => c.fineTuning.alpha.graders.validate({ grader: quickGrader })],
    ['chat', 6, (c) => c.chat.completions.create(chat)],
    ['files.list', 6, (c) => c.files.list()],
    ['files.content', 6, (c) => c.files.content(t.fileB).then((r) => r.text())],
    ['models.list', 6, (c) => c.models.list()],
    ['jobs.list', 7, (c) => c.fineTuning.jobs.list()],
  ];
  for (const [kind, n, send] of bMix) add('b1', kind, n, send); // 51
  add('b1', 'files.retrieve', 1, (c) => c.files.retrieve(t.fileB)); // 52
  for (const [kind, n, send] of bMix) add('b2', kind, n, send); // 51
  add('b2', 'jobs.create', 2, (c) => c.fineTuning.jobs.create(tinyRlJob(t.fileB))); // 53
  // Interleave the keys, so every limit is crossed in the middle of the burst rather than at its end.
  return interleave(requests);
}

function interleave(requests: LoadRequest[]): LoadRequest[] {
  const byKey = new Map<string, LoadRequest[]>();
  for (const r of requests) byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
  const queues = [...byKey.values()];
  const out: LoadRequest[] = [];
  while (out.length < requests.length) {
    for (const q of queues) {
      const next = q.shift();
      if (next) out.push(next);
    }
  }
  return out;
}

/** What one request of the burst got: the HTTP status (0: no answer at all), OpenAI's error fields, its duration. */
export interface LoadOutcome {
  key: string;
  kind: string;
  status: number;
  type?: string | null;
  code?: string | null;
  message?: string;
  ms: number;
}

/** Sends every request at once (one SDK client per key) and waits for all of them. */
export async function fireBurst(
  stack: LoadStack,
  t: LoadTenants,
  requests: LoadRequest[],
): Promise<LoadOutcome[]> {
  const clients = Object.fromEntries(Object.entries(t.keys).map(([name, key]) => [name, stack.client(key)]));
  return Promise.all(
    requests.map(async ({ key, kind, send }): Promise<LoadOutcome> => {
      const t0 = performance.now();
      try {
        await send(clients[key]);
        return { key, kind, status: 200, ms: performance.now() - t0 };
      } catch (error) {
        const ms = performance.now() - t0;
        if (error instanceof OpenAI.APIError && error.status !== undefined) {
          return {
            key,
            kind,
            status: error.status,
            type: error.type,
            code: error.code,
            message: error.message,
            ms,
          };
        }
        return { key, kind, status: 0, message: (error as Error).message, ms };
      }
    }),
  );
}

/** /health answers seen by the prober: when it was sent (ms after the start), status (0: no answer), latency (ms). */
export interface HealthProbe {
  at: number;
  status: number;
  ms: number;
  /** Time to connect when the probe opened a new connection (null: it reused a kept-alive one). */
  connectMs: number | null;
}

/**
 * Probes `url`/health every `intervalMs` from a worker thread of its own (its timings do not include the load
 * generator's work on the main thread), open loop: a slow answer does not delay the next probe. `stop()` waits for
 * the probes in flight and returns them all.
 */
export function probeHealth(
  url: string,
  intervalMs = 20,
  path = '/health',
): { stop(): Promise<HealthProbe[]> } {
  const source = `
    const http = require('node:http');
    const { parentPort, workerData } = require('node:worker_threads');
    const agent = new http.Agent({ keepAlive: true });
    const probes = [];
    let pending = 0;
    let stopping = null;
    const origin = performance.now();
    const settle = (probe) => {
      probes.push(probe);
      pending--;
      if (stopping && pending === 0) stopping();
    };
    const probe = () => {
      const t0 = performance.now();
      const at = t0 - origin;
      let connectMs = null;
      pending++;
      const request = http.get(workerData.url + workerData.path, { agent, timeout: 30000 }, (response) => {
        response.resume();
        response.on('end', () => settle({ at, status: response.statusCode, ms: performance.now() - t0, connectMs }));
      });
      request.on('socket', (socket) => {
        if (socket.connecting) socket.once('connect', () => (connectMs = performance.now() - t0));
      });
      request.on('timeout', () => request.destroy(new Error('timeout')));
      request.on('error', () => settle({ at, status: 0, ms: performance.now() - t0, connectMs }));
    };
    const timer = setInterval(probe, workerData.intervalMs);
    probe();
    parentPort.on('message', async () => {
      clearInterval(timer);
      if (pending > 0) await new Promise((resolve) => (stopping = resolve));
      agent.destroy();
      parentPort.postMessage(probes);
    });`;
  const worker = new Worker(source, { eval: true, workerData: { url, intervalMs, path } });
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        worker.once(
          'message',
          (probes: HealthProbe[]) => void worker.terminate().then(() => resolve(probes)),
        );
        worker.once('error', reject);
        worker.postMessage('stop');
      }),
  };
}

/** The q-quantile (0–1) of `values` by the nearest-rank method; NaN when empty. */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
