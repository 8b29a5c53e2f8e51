import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import {
  freePort,
  MATH_GRADER,
  mathLine,
  queryDatabase,
  startApp,
  type RunningProcess,
} from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Fine-tuning end to end with real processes: the api, one or two worker processes (each training in its own child
 * process), PostgreSQL and Redis; driven only through the official SDK. Tiny settings keep each job to seconds.
 */
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

let currentStack: Stack | undefined;

async function until<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) {
      const logs = currentStack?.workers.map((w) => w.output().slice(-3000)).join('\n---\n');
      throw new Error(`timed out waiting for ${what}\nworker logs:\n${logs}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Stack {
  api: TestApi;
  client: OpenAI;
  dataDir: string;
  redisUrl: string;
  workers: RunningProcess[];
  startWorker(id: string, env?: Record<string, string>): Promise<RunningProcess>;
  /** A training file of 2·steps examples: with batch size 2 and one epoch, a job of exactly `steps` steps. */
  trainingFile(steps: number): Promise<string>;
  validationFile: string;
  close(): Promise<void>;
}

async function startStack(
  redisUrl = 'redis://127.0.0.1:6379',
  apiEnv: Record<string, string> = {},
): Promise<Stack> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tt-worker-'));
  const api = await startTestApi({
    TRACETUNE_DATA_DIR: dataDir,
    REDIS_URL: redisUrl,
    TRACETUNE_JOB_LOCK_MS: '4000',
    ...apiEnv,
  });
  const client = api.openai(api.adminKey);
  const workers: RunningProcess[] = [];
  const env = (id: string) => ({
    DATABASE_URL: api.db.url,
    REDIS_URL: redisUrl,
    TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
    TRACETUNE_DATA_DIR: dataDir,
    TRACETUNE_JOB_LOCK_MS: '4000',
    TRACETUNE_BACKEND: 'wasm',
    TRACETUNE_WORKER_ID: id,
  });
  const upload = async (lines: string[]) =>
    (
      await client.files.create({
        file: await toFile(Buffer.from(lines.join('\n')), 'math.jsonl'),
        purpose: 'fine-tune',
      })
    ).id;
  const files = new Map<number, string>();
  const trainingFile = async (steps: number) => {
    if (!files.has(steps))
      files.set(steps, await upload(Array.from({ length: 2 * steps }, (_, i) => mathLine(i, i + 1))));
    return files.get(steps)!;
  };
  const validationFile = await upload([mathLine(20, 1), mathLine(30, 2)]);
  const stack: Stack = {
    api,
    client,
    dataDir,
    redisUrl,
    workers,
    trainingFile,
    validationFile,
    async startWorker(id, extra = {}) {
      const worker = await startApp('worker', { ...env(id), ...extra });
      workers.push(worker);
      return worker;
    },
    async close() {
      await Promise.all(workers.map((w) => w.stop('SIGKILL')));
      await api.close();
    },
  };
  currentStack = stack;
  return stack;
}

async function rlJob(
  stack: Stack,
  steps: number,
  extra: Record<string, unknown> = {},
): Promise<OpenAI.FineTuning.JobCreateParams> {
  return {
    model: 'tt-nano',
    training_file: await stack.trainingFile(steps),
    validation_file: stack.validationFile,
    seed: 11,
    method: {
      type: 'reinforcement',
      reinforcement: {
        grader: MATH_GRADER,
        hyperparameters: { batch_size: 2, n_epochs: 1, eval_interval: 2, eval_samples: 1 },
        algorithm: { num_generations: 2, max_completion_tokens: 12, beta: 0 },
      },
    },
    ...extra,
  } as unknown as OpenAI.FineTuning.JobCreateParams;
}

async function finished(client: OpenAI, id: string): Promise<OpenAI.FineTuning.FineTuningJob> {
  return until(`job ${id} to finish`, async () => {
    const job = await client.fineTuning.jobs.retrieve(id);
    return TERMINAL.includes(job.status) ? job : null;
  });
}

async function metricSteps(stack: Stack, jobId: string): Promise<number[]> {
  const rows = await queryDatabase<{ step: number }>(
    stack.api.db.url,
    'SELECT step FROM training_metrics WHERE job_id = $1 ORDER BY step',
    [jobId],
  );
  return rows.map((r) => r.step);
}

describe('fine-tuning jobs on real workers', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack();
    await stack.startWorker('worker-a');
  }, 120_000);
  afterAll(() => stack.close());

  it('should train a GRPO-λ job to succeeded, with metrics events, checkpoints and a servable model', async () => {
    const { client } = stack;
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 4, { suffix: 'e2e' }));
    // trained_tokens while running: what the job has trained on so far, not the last step's count.
    const seen: { step: number; tokens: number }[] = [];
    const job = await until(`job ${created.id} to finish`, async () => {
      const now = await client.fineTuning.jobs.retrieve(created.id);
      const step = (now as unknown as { progress: { step: number } }).progress.step;
      if (now.status === 'running' && step >= 2) seen.push({ step, tokens: now.trained_tokens ?? 0 });
      return TERMINAL.includes(now.status) ? now : null;
    });
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    expect(job.fine_tuned_model).toMatch(/^ft:tt-nano:org-default:e2e:/);
    expect(job.trained_tokens).toBeGreaterThan(0);
    const events = [];
    for await (const event of client.fineTuning.jobs.listEvents(created.id, { limit: 50 }))
      events.push(event);
    const metrics = events.filter((e) => e.type === 'metrics');
    expect(metrics).toHaveLength(4);
    const perStep = new Map(
      metrics.map((e) => [(e.data as { step: number }).step, e.data as { trained_tokens: number }]),
    );
    const upTo = (step: number) =>
      [...perStep].filter(([s]) => s <= step).reduce((sum, [, d]) => sum + Math.round(d.trained_tokens), 0);
    expect(job.trained_tokens).toBe(upTo(4));
    expect(seen.length).toBeGreaterThan(0);
    for (const { step, tokens } of seen) expect(tokens).toBe(upTo(step));
    // The results file: one CSV row per step, OpenAI's columns first.
    expect(job.result_files).toHaveLength(1);
    const file = await client.files.retrieve(job.result_files[0]);
    expect(file).toMatchObject({
      purpose: 'fine-tune-results',
      status: 'processed',
      filename: 'step_metrics.csv',
    });
    const csv = (await (await client.files.content(file.id)).text()).trim().split('\n');
    expect(csv).toHaveLength(5);
    const header = csv[0].split(',');
    expect(header.slice(0, 7)).toEqual([
      'step',
      'train_loss',
      'train_accuracy',
      'valid_loss',
      'valid_mean_token_accuracy',
      'train_mean_reward',
      'valid_mean_reward',
    ]);
    expect(header).toEqual(expect.arrayContaining(['kl', 'grad_norm', 'trained_tokens']));
    expect(csv.slice(1).map((line) => line.split(',')[0])).toEqual(['1', '2', '3', '4']);
    const rewardAt4 = Number(csv[4].split(',')[5]);
    expect(rewardAt4).toBeCloseTo((perStep.get(4) as unknown as { reward: number }).reward, 6);
    expect(metrics[0].data).toEqual(
      expect.objectContaining({
        step: 4,
        reward: expect.any(Number),
        kl: expect.any(Number),
        grad_norm: expect.any(Number),
      }),
    );
    const checkpoints = await client.fineTuning.jobs.checkpoints.list(created.id);
    expect(checkpoints.data.length).toBeGreaterThan(0);
    expect(checkpoints.data[0].fine_tuned_model_checkpoint).toMatch(/:ckpt-step-\d+$/);
    const models = (await client.models.list()).data.map((m) => m.id);
    expect(models).toContain(job.fine_tuned_model);
    expect(models).toContain(checkpoints.data[0].fine_tuned_model_checkpoint);
    expect(await metricSteps(stack, created.id)).toEqual([1, 2, 3, 4]);
  }, 180_000);

  it('should train a supervised job on tool calls, and refuse malformed ones at upload with the line', async () => {
    const { client } = stack;
    const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
    const line = (a: number) =>
      JSON.stringify({
        tools,
        messages: [
          { role: 'user', content: `${a}+1?` },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'c1',
                type: 'function',
                function: { name: 'add', arguments: JSON.stringify({ a, b: 1 }) },
              },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', content: String(a + 1) },
          { role: 'assistant', content: String(a + 1) },
        ],
      });
    const upload = async (lines: string[]) =>
      client.files.create({
        file: await toFile(Buffer.from(lines.join('\n')), 'tools.jsonl'),
        purpose: 'fine-tune',
      });
    const bad = await upload([line(1), line(2).replace('"arguments":"{', '"arguments":"x{')]);
    expect(bad.status).toBe('error');
    expect(bad.status_details).toMatch(/line 2.*tool_calls\[0\]\.function\.arguments/);
    const file = await upload([line(1), line(2), line(3), line(4)]);
    expect(file.status).toBe('processed');
    const created = await client.fineTuning.jobs.create({
      model: 'tt-nano',
      training_file: file.id,
      method: { type: 'supervised', supervised: { hyperparameters: { batch_size: 2, n_epochs: 1 } } },
    });
    const job = await finished(client, created.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    // The rendered calls were trained on: more tokens than the plain-text turns alone hold.
    expect(job.trained_tokens).toBeGreaterThan(4 * 100);
  }, 180_000);

  it("should train a DPO job on preference pairs to succeeded, logging TRL's DPO metrics", async () => {
    const { client } = stack;
    const pair = (a: number) =>
      JSON.stringify({
        input: { messages: [{ role: 'user', content: `${a}+1=` }] },
        preferred_output: [{ role: 'assistant', content: String(a + 1) }],
        non_preferred_output: [{ role: 'assistant', content: 'no idea' }],
      });
    const pairs = await client.files.create({
      file: await toFile(Buffer.from([1, 2, 3, 4].map(pair).join('\n')), 'pairs.jsonl'),
      purpose: 'fine-tune',
    });
    expect(await client.files.waitForProcessing(pairs.id)).toMatchObject({ status: 'processed' });
    // Preference pairs feed DPO only; another format is refused naming the file.
    await expect(
      client.fineTuning.jobs.create({
        model: 'tt-nano',
        training_file: pairs.id,
        method: { type: 'supervised' },
      }),
    ).rejects.toMatchObject({ status: 400, param: 'training_file' });
    await expect(
      client.fineTuning.jobs.create({
        model: 'tt-nano',
        training_file: await stack.trainingFile(2),
        method: { type: 'dpo', dpo: { hyperparameters: { beta: 0.1 } } },
      }),
    ).rejects.toMatchObject({ status: 400, param: 'training_file' });
    const created = await client.fineTuning.jobs.create({
      model: 'tt-nano',
      training_file: pairs.id,
      validation_file: pairs.id,
      seed: 5,
      method: { type: 'dpo', dpo: { hyperparameters: { beta: 0.2, batch_size: 2, n_epochs: 1 } } },
    });
    expect(created.method).toMatchObject({
      type: 'dpo',
      dpo: { hyperparameters: { beta: 0.2, batch_size: 2 } },
    });
    const job = await finished(client, created.id);
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const events = [];
    for await (const event of client.fineTuning.jobs.listEvents(created.id, { limit: 50 }))
      events.push(event);
    const metrics = events.filter((e) => e.type === 'metrics').map((e) => e.data as Record<string, number>);
    expect(metrics).toHaveLength(2);
    for (const m of metrics)
      for (const key of [
        'loss',
        'rewards/chosen',
        'rewards/rejected',
        'rewards/accuracies',
        'rewards/margins',
      ])
        expect(Number.isFinite(m[key])).toBe(true);
    const first = metrics.find((m) => m['step'] === 1) as Record<string, number>;
    expect(first['loss']).toBeCloseTo(Math.log(2), 3);
  });

  it('should cancel a running job within a step', async () => {
    const { client } = stack;
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 60));
    await until('the job to run a step', async () => (await metricSteps(stack, created.id)).length > 0);
    const stepsBeforeCancel = (await metricSteps(stack, created.id)).length;
    const cancelled = await client.fineTuning.jobs.cancel(created.id);
    expect(cancelled.status).toBe('cancelled');
    await until('the worker to stop', async () => {
      const events = await client.fineTuning.jobs.listEvents(created.id);
      return events.data.some((e) => e.message.includes('cancelled'));
    });
    // At most the step in flight when the cancel landed completes.
    expect((await metricSteps(stack, created.id)).length).toBeLessThanOrEqual(stepsBeforeCancel + 1);
    expect((await client.fineTuning.jobs.retrieve(created.id)).status).toBe('cancelled');
  }, 180_000);

  it('should pause at a checkpoint and resume from it', async () => {
    const { client } = stack;
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 30));
    await until('the job to run a step', async () => (await metricSteps(stack, created.id)).length > 0);
    await client.fineTuning.jobs.pause(created.id);
    const paused = await until('the job to pause', async () => {
      const job = await client.fineTuning.jobs.retrieve(created.id);
      return (job.status as string) === 'paused' || TERMINAL.includes(job.status) ? job : null;
    });
    expect(paused.status as string).toBe('paused');
    const pausedAt = (await metricSteps(stack, created.id)).length;
    expect(pausedAt).toBeLessThan(30);
    await client.fineTuning.jobs.resume(created.id);
    const job = await finished(client, created.id);
    expect(job.status).toBe('succeeded');
    expect(await metricSteps(stack, created.id)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const messages = (await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.map(
      (e) => e.message,
    );
    expect(messages.some((m) => m.startsWith(`Resuming from checkpoint at step ${pausedAt}`))).toBe(true);
  }, 240_000);

  it('should resume a job from its checkpoint after its worker is SIGKILLed, counting no step twice', async () => {
    const { client } = stack;
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 8));
    await until(
      'a checkpoint',
      async () => (await client.fineTuning.jobs.checkpoints.list(created.id)).data.length > 0,
    );
    for (const worker of stack.workers.splice(0)) await worker.stop('SIGKILL');
    await stack.startWorker('worker-b');
    const job = await finished(client, created.id);
    expect(job.status).toBe('succeeded');
    expect(await metricSteps(stack, created.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const messages = (await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.map(
      (e) => e.message,
    );
    expect(
      messages.some((m) => /^Resuming from checkpoint at step \d+ \(attempt 2, worker worker-b\)/.test(m)),
    ).toBe(true);
    const metricEvents = (await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.filter(
      (e) => e.type === 'metrics',
    );
    expect(metricEvents.map((e) => (e.data as { step: number }).step).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8,
    ]);
  }, 240_000);

  it('should run four jobs on two workers, each job on one worker at a time', async () => {
    const { client } = stack;
    if (stack.workers.length < 2) await stack.startWorker('worker-c');
    const jobs = [];
    for (const seed of [100, 101, 102, 103])
      jobs.push(await client.fineTuning.jobs.create(await rlJob(stack, 2, { seed })));
    const done = await Promise.all(jobs.map((j) => finished(client, j.id)));
    expect(done.map((j) => j.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const attempts = await queryDatabase<{ attempt: number; worker_id: string }>(
      stack.api.db.url,
      `SELECT attempt, worker_id FROM fine_tuning_jobs WHERE id = ANY($1)`,
      [jobs.map((j) => j.id)],
    );
    expect(attempts.every((a) => a.attempt === 1)).toBe(true);
    expect(new Set(attempts.map((a) => a.worker_id)).size).toBe(2);
  }, 300_000);

  it('should fail a job whose stored settings no longer parse with invalid_config, naming method', async () => {
    const { client } = stack;
    // Damaged in the database while no worker runs: the next worker must refuse it, not train it.
    for (const worker of stack.workers.splice(0)) await worker.stop('SIGKILL');
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 2));
    await queryDatabase(
      stack.api.db.url,
      `UPDATE fine_tuning_jobs SET method = jsonb_set(method, '{reinforcement,algorithm,lambda}', '2') WHERE id = $1`,
      [created.id],
    );
    await stack.startWorker('worker-d');
    const job = await finished(client, created.id);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'invalid_config', param: 'method' });
    expect(job.error?.message).toMatch(/method\.reinforcement\.algorithm\.lambda/);
  }, 120_000);
});

describe('a job survives a Redis restart', () => {
  let redis: ChildProcess;
  let port: number;
  let stack: Stack;

  const startRedis = async () => {
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    await until(
      'redis',
      async () =>
        spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.includes('PONG'),
      10_000,
    );
  };

  beforeAll(async () => {
    port = await freePort();
    await startRedis();
    stack = await startStack(`redis://127.0.0.1:${port}`);
    await stack.startWorker('worker-r');
  }, 120_000);
  afterAll(async () => {
    await stack.close();
    redis.kill('SIGKILL');
  });

  it('should finish the job after Redis restarts mid-run', async () => {
    const { client } = stack;
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 6));
    await until('the job to run a step', async () => (await metricSteps(stack, created.id)).length > 0);
    redis.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    await startRedis();
    const job = await finished(client, created.id);
    expect(job.status).toBe('succeeded');
    expect(await metricSteps(stack, created.id)).toEqual([1, 2, 3, 4, 5, 6]);
  }, 240_000);
});

describe('workers take only jobs they can run', () => {
  let stack: Stack;
  let worker: RunningProcess;

  beforeAll(async () => {
    // Every model counts as too large for a CPU-only worker here, so jobs go to the accelerated queue.
    stack = await startStack('redis://127.0.0.1:6379', {
      TRACETUNE_CPU_MAX_PARAMS: '1000',
      TRACETUNE_QUEUE_WATCH_MS: '1000',
    });
    worker = await stack.startWorker('worker-cpu');
  }, 120_000);
  afterAll(() => stack.close());

  const health = async (w: RunningProcess) =>
    ((await (await fetch(`${w.url}/health`)).json()) as { details: Record<string, unknown> }).details;
  const messages = async (id: string) =>
    (await stack.client.fineTuning.jobs.listEvents(id, { limit: 100 })).data.map((e) => e.message);

  it('should leave accelerated jobs to GPU workers, say why a job waits, and run it once a webgpu worker appears', async () => {
    expect(await health(worker)).toMatchObject({
      worker_id: 'worker-cpu',
      backend: 'wasm',
      accelerator: 'none',
      adapter: null,
      memory: { backend_limit_bytes: 4 * 1024 ** 3, max_tensor_bytes: null },
      queues: ['training'],
    });
    const { client } = stack;
    const created = await client.fineTuning.jobs.create(await rlJob(stack, 2));
    const waiting =
      'Waiting for a worker with a GPU backend (tensorflow-gpu or webgpu): no live worker consumes the training-accelerated queue';
    expect((created as unknown as { status_details: string | null }).status_details).toBe(waiting);
    await new Promise((r) => setTimeout(r, 3_000));
    const job = await client.fineTuning.jobs.retrieve(created.id);
    expect(job.status).toBe('queued');
    expect((job as unknown as { status_details: string | null }).status_details).toBe(waiting);
    const before = await messages(created.id);
    expect(before.some((m) => m.startsWith('Waiting for a worker with an accelerator: tt-nano has'))).toBe(
      true,
    );
    expect(before.filter((m) => m === waiting)).toHaveLength(1); // once, however many checks ran

    // A worker forced onto webgpu (lavapipe in CI) consumes both queues and takes the job.
    const gpu = await stack.startWorker('worker-webgpu', { TRACETUNE_BACKEND: 'webgpu' });
    const details = await health(gpu);
    expect(details).toMatchObject({
      backend: 'webgpu',
      accelerator: 'webgpu',
      queues: ['training', 'training-accelerated'],
    });
    expect(
      (details['adapter'] as { description: string; max_storage_binding_bytes: number })
        .max_storage_binding_bytes,
    ).toBeGreaterThan(0);
    const done = await finished(client, created.id);
    expect(done.status).toBe('succeeded');
    const after = await messages(created.id);
    expect(after.some((m) => /^A worker consuming the training-accelerated queue is live/.test(m))).toBe(
      true,
    );
    expect(after.some((m) => /^Training on the webgpu backend \(requested webgpu; adapter /.test(m))).toBe(
      true,
    );
    expect((done as unknown as { status_details: string | null }).status_details).toBeNull();
  }, 240_000);
});
