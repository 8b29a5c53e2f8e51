import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import {
  freePort,
  mathLine,
  postgresBinaries,
  queryDatabase,
  startApp,
  startPostgresCluster,
  startRedisServer,
  tinyRlJob,
  WORKSPACE_ROOT,
  type OwnedService,
  type RunningProcess,
} from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Faults with real processes: the suite owns its redis-server (no persistence) and, where the PostgreSQL binaries
 * are installed, its own PostgreSQL cluster, so it can kill and restart them. Workers are real worker processes
 * (each training in its own child process); `npm start`'s supervisor is the real start script. Every job must end
 * `succeeded` with each step's metrics and events recorded exactly once, and nothing may be left running.
 */
const LOCK_MS = '4000';

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 120_000,
  logs: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // A probe may hit the database or Redis while the test has them down: that is "not yet".
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Deployment {
  api: TestApi;
  client: OpenAI;
  workers: RunningProcess[];
  workerEnv(id: string): Record<string, string>;
  startWorker(id: string): Promise<RunningProcess>;
  killWorkers(): Promise<void>;
  logs(): string;
}

async function startDeployment(redis: OwnedService, server: string | undefined): Promise<Deployment> {
  // No TRACETUNE_QUEUE_PREFIX anywhere: the prefix derives from each database's deployment id.
  const api = await startTestApi(
    { REDIS_URL: redis.url, TRACETUNE_JOB_LOCK_MS: LOCK_MS, TRACETUNE_QUEUE_PREFIX: '' },
    { server },
  );
  const workers: RunningProcess[] = [];
  const workerEnv = (id: string) => ({
    DATABASE_URL: api.db.url,
    REDIS_URL: redis.url,
    TRACETUNE_DATA_DIR: api.dataDir,
    TRACETUNE_JOB_LOCK_MS: LOCK_MS,
    TRACETUNE_RECONCILE_INTERVAL_MS: '1000',
    TRACETUNE_DB_RETRY_MS: '60000',
    TRACETUNE_SHUTDOWN_GRACE_MS: '20000',
    TRACETUNE_BACKEND: 'wasm',
    TRACETUNE_WORKER_ID: id,
  });
  return {
    api,
    client: api.openai(api.adminKey),
    workers,
    workerEnv,
    async startWorker(id) {
      const worker = await startApp('worker', workerEnv(id));
      workers.push(worker);
      return worker;
    },
    async killWorkers() {
      for (const worker of workers.splice(0)) await worker.stop('SIGKILL');
    },
    logs: () => workers.map((w) => w.output().slice(-2000)).join('\n---\n'),
  };
}

async function rlJob(d: Deployment, steps: number, seed = 7): Promise<string> {
  const file = await d.client.files.create({
    file: await toFile(
      Buffer.from(Array.from({ length: 2 * steps }, (_, i) => mathLine(i, seed + i)).join('\n')),
      'math.jsonl',
    ),
    purpose: 'fine-tune',
  });
  const job = await d.client.fineTuning.jobs.create(
    tinyRlJob(file.id, {
      seed,
      hyperparameters: { eval_interval: 1_000 },
      algorithm: { max_completion_tokens: 6 },
    }),
  );
  return job.id;
}

const metricSteps = async (d: Deployment, jobId: string) =>
  (
    await queryDatabase<{ step: number }>(
      d.api.db.url,
      'SELECT step FROM training_metrics WHERE job_id = $1 ORDER BY step',
      [jobId],
    )
  ).map((r) => r.step);

const checkpointCount = async (d: Deployment, jobId: string) =>
  (await queryDatabase(d.api.db.url, 'SELECT 1 FROM checkpoints WHERE job_id = $1', [jobId])).length;

async function finished(d: Deployment, jobId: string): Promise<OpenAI.FineTuning.FineTuningJob> {
  return until(
    `job ${jobId} to finish`,
    async () => {
      const job = await d.client.fineTuning.jobs.retrieve(jobId);
      return ['succeeded', 'failed', 'cancelled'].includes(job.status) ? job : null;
    },
    240_000,
    d.logs,
  );
}

/**
 * The job succeeded, with one metrics row and one metrics event per step, and no event about a step twice (samples,
 * checkpoints, evaluations): what a replay after a fault recorded again replaced the first attempt's record.
 */
async function expectEveryStepOnce(d: Deployment, jobId: string, steps: number): Promise<string[]> {
  const job = await finished(d, jobId);
  expect({ status: job.status, error: job.error }).toEqual({ status: 'succeeded', error: null });
  const all = Array.from({ length: steps }, (_, i) => i + 1);
  expect(await metricSteps(d, jobId)).toEqual(all);
  const events = await queryDatabase<{ type: string; message: string; step: number | null }>(
    d.api.db.url,
    `SELECT type, message, CASE WHEN jsonb_typeof(data->'step') = 'number' THEN (data->>'step')::int END AS step
       FROM fine_tuning_events WHERE job_id = $1 ORDER BY seq`,
    [jobId],
  );
  expect(events.filter((e) => e.type === 'metrics').map((e) => e.step)).toEqual(all);
  const perStep = events
    .filter((e) => e.step !== null && !e.message.startsWith('Resuming from checkpoint'))
    .map((e) => `${e.type} ${e.message.replace(/[\d.]+/g, '#')} @${e.step}`);
  expect(perStep.filter((key, i) => perStep.indexOf(key) !== i)).toEqual([]);
  return events.map((e) => e.message);
}

/** Every process below `pid` (children, grandchildren: the apps and their training processes). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const found: number[] = [];
  const visit = (p: number) =>
    (parents.get(p) ?? []).forEach((child) => {
      found.push(child);
      visit(child);
    });
  visit(pid);
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

const cmdline = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
};

describe('faults: processes, Redis and PostgreSQL killed mid-job', () => {
  let redis: OwnedService;
  let postgres: OwnedService | null = null;
  let a: Deployment;

  beforeAll(async () => {
    redis = await startRedisServer();
    const bin = postgresBinaries();
    postgres = bin ? await startPostgresCluster(bin) : null;
    a = await startDeployment(redis, postgres?.url);
  }, 120_000);
  afterAll(async () => {
    await a?.killWorkers();
    await a?.api.close();
    await redis?.destroy();
    await postgres?.destroy();
  }, 60_000);

  it('should replay a job SIGKILLed before its first checkpoint from scratch, then resume one killed after it', async () => {
    await a.startWorker('worker-1');
    const id = await rlJob(a, 20);
    await until('step 1', async () => (await metricSteps(a, id)).length > 0, 120_000, a.logs);
    await a.killWorkers();
    expect(await checkpointCount(a, id)).toBe(0); // killed before the first checkpoint (step 4)
    await a.startWorker('worker-2');
    await until('a checkpoint', async () => (await checkpointCount(a, id)) > 0, 120_000, a.logs);
    await a.killWorkers();
    await a.startWorker('worker-3');
    const messages = await expectEveryStepOnce(a, id, 20);
    expect(messages).toContainEqual(
      expect.stringMatching(/^Restarting from the beginning on worker worker-2/),
    );
    expect(messages).toContainEqual(
      expect.stringMatching(/^Resuming from checkpoint at step \d+ \(attempt 3, worker worker-3\)/),
    );
  }, 300_000);

  it('should rebuild the delivery of a job whose Redis restarted empty and whose worker then died', async () => {
    if (a.workers.length === 0) await a.startWorker('worker-4');
    const id = await rlJob(a, 16, 21);
    await until('step 1', async () => (await metricSteps(a, id)).length > 0, 120_000, a.logs);
    await redis.kill();
    await redis.start();
    const stepsAfterRestart = (await metricSteps(a, id)).length;
    await until(
      'a step after the restart',
      async () => (await metricSteps(a, id)).length > stepsAfterRestart,
    );
    await a.killWorkers();
    await a.startWorker('worker-5');
    const messages = await expectEveryStepOnce(a, id, 16);
    expect(messages).toContainEqual(expect.stringMatching(/^Job queued again: its worker is gone/));
  }, 300_000);

  it('should finish the pause of a job whose worker died and whose delivery Redis lost, then resume it', async () => {
    if (a.workers.length === 0) await a.startWorker('worker-p1');
    const id = await rlJob(a, 10, 27);
    await until('a checkpoint', async () => (await checkpointCount(a, id)) > 0, 120_000, a.logs);
    await a.killWorkers();
    expect((await a.client.fineTuning.jobs.pause(id)).status as string).toBe('pausing');
    await redis.kill();
    await redis.start();
    await a.startWorker('worker-p2');
    const paused = await until(
      'the sweep to finish the pause',
      async () => {
        const job = await a.client.fineTuning.jobs.retrieve(id);
        return (job.status as string) === 'paused' ? job : null;
      },
      60_000,
      a.logs,
    );
    expect(paused.status as string).toBe('paused');
    await a.client.fineTuning.jobs.resume(id);
    const messages = await expectEveryStepOnce(a, id, 10);
    expect(messages).toContainEqual(
      expect.stringMatching(/^Job paused: its worker stopped before the pause checkpoint/),
    );
  }, 300_000);

  it('should record every step of a job across a PostgreSQL restart', async () => {
    if (a.workers.length === 0) await a.startWorker('worker-6');
    const id = await rlJob(a, 8, 33);
    await until('step 2', async () => (await metricSteps(a, id)).length >= 2, 120_000, a.logs);
    await databaseOutage(postgres, a, 3_000);
    await expectEveryStepOnce(a, id, 8);
    expect(a.logs()).toMatch(/retrying/);
  }, 300_000);

  it('should keep two deployments sharing one Redis apart: each runs only its own jobs', async () => {
    const b = await startDeployment(redis, postgres?.url);
    try {
      if (a.workers.length === 0) await a.startWorker('worker-7');
      await b.startWorker('worker-b');
      const [jobA, jobB] = await Promise.all([rlJob(a, 2, 41), rlJob(b, 2, 42)]);
      await expectEveryStepOnce(a, jobA, 2);
      await expectEveryStepOnce(b, jobB, 2);
      const owner = async (d: Deployment, id: string) =>
        (
          await queryDatabase<{ worker_id: string }>(
            d.api.db.url,
            'SELECT worker_id FROM fine_tuning_jobs WHERE id = $1',
            [id],
          )
        )[0].worker_id;
      expect(a.workers.map((w) => w.output()).join('')).not.toMatch(/not in this deployment/);
      expect(await owner(a, jobA)).not.toBe('worker-b');
      expect(await owner(b, jobB)).toBe('worker-b');
      const prefixes = new Set(
        (await redisKeys(redis)).filter((k) => k.startsWith('tt-')).map((k) => k.split(':')[0]),
      );
      expect(prefixes.size).toBe(2);
    } finally {
      await b.killWorkers();
      await b.api.close();
    }
  }, 300_000);

  it('should restart a crashed app under npm start, and on SIGTERM hand the job back and leave no process behind', async () => {
    await a.killWorkers(); // the start script's worker is the only one
    const ports = {
      PORT: await freePort(),
      INFERENCE_PORT: await freePort(),
      WORKER_HEALTH_PORT: await freePort(),
    };
    let log = '';
    const start: ChildProcess = spawn(
      process.execPath,
      [join(WORKSPACE_ROOT, 'tools', 'scripts', 'start.mjs'), '--no-build'],
      {
        cwd: WORKSPACE_ROOT,
        env: {
          PATH: process.env['PATH'] ?? '',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
          ...a.workerEnv('worker-npm'),
          ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
          INFERENCE_URL: `http://127.0.0.1:${ports.INFERENCE_PORT}`,
          TRACETUNE_INFERENCE_THREADS: '1',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    start.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    start.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const logs = () => log.slice(-4000);
    const healthy = (port: number) => async () => (await fetch(`http://127.0.0.1:${port}/health`)).ok;
    try {
      await until(
        'the apps under npm start',
        async () => (await healthy(ports.PORT)()) && (await healthy(ports.WORKER_HEALTH_PORT)()),
        120_000,
        logs,
      );
      const worker = descendants(start.pid!).find((pid) =>
        cmdline(pid).includes('dist/apps/worker/main.js'),
      )!;
      process.kill(worker, 'SIGKILL');
      await until(
        'the worker to be restarted',
        async () => /restarting worker/.test(log) && (await healthy(ports.WORKER_HEALTH_PORT)()),
        60_000,
        logs,
      );
      expect(log).toMatch(/worker exited \(SIGKILL\).*restarting it in 1 s/);

      const id = await rlJob(a, 12, 55);
      await until('step 2', async () => (await metricSteps(a, id)).length >= 2, 120_000, logs);
      const started = descendants(start.pid!);
      expect(started.some((pid) => cmdline(pid).includes('training-process.js'))).toBe(true);
      const exited = new Promise<number | null>((r) => start.once('exit', (code) => r(code)));
      start.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(started.filter(alive)).toEqual([]);
      const job = await a.client.fineTuning.jobs.retrieve(id);
      expect({ status: job.status, log: job.status === 'queued' ? '' : logs() }).toEqual({
        status: 'queued',
        log: '',
      });
      const messages = (await a.client.fineTuning.jobs.listEvents(id, { limit: 100 })).data.map(
        (e) => e.message,
      );
      expect(messages).toContainEqual(
        expect.stringMatching(
          /^Worker worker-npm shut down after a checkpoint at step \d+; the job is queued again/,
        ),
      );
      await a.startWorker('worker-8');
      await expectEveryStepOnce(a, id, 12);
    } finally {
      if (start.exitCode === null) start.kill('SIGKILL');
      for (const pid of descendants(start.pid!)) process.kill(pid, 'SIGKILL');
    }
  }, 300_000);
});

/**
 * PostgreSQL goes away for `ms` and comes back: the test's own cluster is shut down and started again; without the
 * binaries, the deployment's database refuses connections and its sessions are terminated for as long.
 */
async function databaseOutage(postgres: OwnedService | null, d: Deployment, ms: number): Promise<void> {
  if (postgres) {
    await postgres.kill();
    await new Promise((r) => setTimeout(r, ms));
    await postgres.start();
    return;
  }
  const admin = 'postgresql://postgres@127.0.0.1:5432/postgres';
  await queryDatabase(admin, `ALTER DATABASE "${d.api.db.name}" ALLOW_CONNECTIONS false`);
  await queryDatabase(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [
    d.api.db.name,
  ]);
  await new Promise((r) => setTimeout(r, ms));
  await queryDatabase(admin, `ALTER DATABASE "${d.api.db.name}" ALLOW_CONNECTIONS true`);
}

async function redisKeys(redis: OwnedService): Promise<string[]> {
  const { spawnSync } = await import('node:child_process');
  return spawnSync('redis-cli', ['-p', String(redis.port), '--scan'], { encoding: 'utf8' })
    .stdout.split('\n')
    .filter(Boolean);
}
