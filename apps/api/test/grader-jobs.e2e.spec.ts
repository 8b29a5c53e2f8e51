import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import { mathLine, startApp, type RunningProcess } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Code graders inside real jobs (api + one worker process, PostgreSQL, Redis, the official SDK): a job whose grader
 * never returns is cancelled while it grades and the worker moves on to the next job at once.
 */
const TERMINAL = ['succeeded', 'failed', 'cancelled'];

async function until<T>(what: string, probe: () => Promise<T | null | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('code graders in jobs (real worker)', () => {
  let api: TestApi;
  let client: OpenAI;
  let worker: RunningProcess;
  let dataDir: string;
  let trainingFile: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tt-grader-jobs-'));
    api = await startTestApi({ TRACETUNE_DATA_DIR: dataDir, TRACETUNE_JOB_LOCK_MS: '4000' });
    client = api.openai(api.adminKey);
    worker = await startApp('worker', {
      DATABASE_URL: api.db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
      TRACETUNE_DATA_DIR: dataDir,
      TRACETUNE_JOB_LOCK_MS: '4000',
      TRACETUNE_BACKEND: 'wasm',
      TRACETUNE_WORKER_ID: 'grader-worker',
    });
    const file = await client.files.create({
      file: await toFile(
        Buffer.from([mathLine(1, 2), mathLine(3, 4), mathLine(5, 6), mathLine(7, 8)].join('\n')),
        'm.jsonl',
      ),
      purpose: 'fine-tune',
    });
    trainingFile = file.id;
  }, 120_000);
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await api?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const job = (grader: Record<string, unknown>) =>
    client.fineTuning.jobs.create({
      model: 'tt-nano',
      training_file: trainingFile,
      seed: 3,
      method: {
        type: 'reinforcement',
        reinforcement: {
          grader,
          hyperparameters: { batch_size: 2, n_epochs: 1 },
          algorithm: { num_generations: 2, max_completion_tokens: 8, beta: 0 },
        },
      },
    } as unknown as OpenAI.FineTuning.JobCreateParams);

  const finished = (id: string, timeoutMs: number) =>
    until(
      `job ${id} to finish`,
      async () => {
        const j = await client.fineTuning.jobs.retrieve(id);
        return TERMINAL.includes(j.status) ? j : null;
      },
      timeoutMs,
    );

  it('should cancel a job stuck in a 60-second grader within seconds and take the next job', async () => {
    // Every sample loops for the grader's whole 60 s limit: a step would hold the worker for minutes.
    const stuck = await job({
      type: 'javascript',
      name: 'stuck',
      source: 'function grade() { for (;;) {} }',
      timeout_ms: 60_000,
    });
    const next = await job({
      type: 'javascript',
      name: 'digits',
      source: 'function grade(sample) { return /[0-9]/.test(sample.output_text) ? 1 : 0; }',
    });
    await until(
      'the stuck job to start grading',
      async () => (await client.fineTuning.jobs.retrieve(stuck.id)).status === 'running',
      120_000,
    );
    await new Promise((r) => setTimeout(r, 3000)); // sampling is done; its graders are spinning
    expect((await client.fineTuning.jobs.cancel(stuck.id)).status).toBe('cancelled');
    await until(
      'the worker to stop the stuck job',
      async () =>
        (await client.fineTuning.jobs.listEvents(stuck.id, { limit: 50 })).data.some((e) =>
          /cancelled/i.test(e.message),
        ),
      30_000,
    );
    // The worker is free: the next job trains to the end (far sooner than one stuck step would take).
    const done = await finished(next.id, 90_000);
    expect(done.status).toBe('succeeded');
    expect((await client.fineTuning.jobs.retrieve(stuck.id)).status).toBe('cancelled');
  }, 300_000);

  it('should train a short reinforcement job with a python grader to succeeded', async () => {
    const created = await job({
      type: 'python',
      name: 'digits',
      source:
        'def grade(sample, item) -> float:\n    return 1.0 if any(c.isdigit() for c in sample["output_text"]) else 0.0',
    });
    const done = await finished(created.id, 180_000);
    expect(done.error).toBeNull();
    expect(done.status).toBe('succeeded');
    const events = await client.fineTuning.jobs.listEvents(created.id, { limit: 50 });
    const metrics = events.data.filter((e) => e.type === 'metrics');
    expect(metrics.length).toBe(2);
    expect(metrics[0].data).toEqual(expect.objectContaining({ 'rewards/digits/mean': expect.any(Number) }));
  }, 300_000);

  it('should refuse a job whose python grader does not compile, naming its source', async () => {
    const error = await job({ type: 'python', name: 'p', source: 'def grade(sample, item) return 1' }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(
      'method.reinforcement.grader.source',
    );
    expect((error as Error).message).toMatch(/SyntaxError/);
  });

  it('should refuse a job whose grader template does not parse, naming the field', async () => {
    const error = await job({
      type: 'string_check',
      name: 's',
      input: '{{item.(a',
      reference: '{{item.answer}}',
      operation: 'eq',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe(
      'method.reinforcement.grader.input',
    );
  });
});
