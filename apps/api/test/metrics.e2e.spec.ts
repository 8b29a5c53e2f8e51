import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import { metricNames, parseExposition, type App, type Sample } from '@tracetune/metrics';
import { mathLine, queryDatabase, startApp, tinyRlJob, type RunningProcess } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Prometheus metrics of every app, scraped from real processes while they work: the api and a worker while a tiny
 * tt-nano GRPO-λ job trains, then the inference server while it answers real chat requests for the trained model.
 * Every family of the catalogue (libs/metrics) must be exported by its app, with values that agree with what happened.
 */
const TOKEN = 'metrics-token-0123456789';
const STEPS = 10;
const KV_MB = 8;

async function scrape(url: string, token: string | null = TOKEN) {
  const response = await fetch(`${url}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, text: await response.text() };
}

async function metrics(url: string) {
  const { status, text } = await scrape(url);
  expect(status).toBe(200);
  return parseExposition(text);
}

/** The one sample of `name` whose labels include `labels` (a missing series fails the test with its name). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length !== 1)
    throw new Error(`expected one ${name}${JSON.stringify(labels)}, found ${found.length}`);
  return found[0].value;
}

function expectFamilies(app: App, types: Map<string, string>): void {
  const missing = metricNames(app).filter((name) => !types.has(name));
  expect(missing).toEqual([]);
  expect(types.get('tracetune_process_cpu_seconds_total')).toBe('counter');
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const result = await probe();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('/metrics of api, worker and inference during real work', () => {
  let api: TestApi;
  let worker: RunningProcess;
  let inference: RunningProcess;
  let client: OpenAI;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tt-metrics-'));
    inference = await startApp(
      'inference',
      {
        TRACETUNE_DATA_DIR: dataDir,
        TRACETUNE_BACKEND: 'wasm',
        TRACETUNE_INFERENCE_THREADS: '1',
        TRACETUNE_INFERENCE_KV_MB: String(KV_MB),
        // Smaller than any model: each one is evicted once its request is done, so loads and evictions both count.
        TRACETUNE_INFERENCE_MEMORY_MB: '1',
        TRACETUNE_METRICS_TOKEN: TOKEN,
      },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({
      TRACETUNE_DATA_DIR: dataDir,
      INFERENCE_URL: inference.url,
      TRACETUNE_METRICS_TOKEN: TOKEN,
    });
    client = api.openai(api.adminKey);
    worker = await startApp('worker', {
      DATABASE_URL: api.db.url,
      TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
      TRACETUNE_DATA_DIR: dataDir,
      TRACETUNE_BACKEND: 'wasm',
      TRACETUNE_WORKER_ID: 'worker-metrics',
      TRACETUNE_METRICS_TOKEN: TOKEN,
    });
  }, 120_000);
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await inference?.stop();
    await api?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('should refuse a scrape without the metrics token on every app', async () => {
    for (const url of [api.url, worker.url, inference.url]) {
      for (const token of [null, 'wrong-token-0123456789', api.adminKey]) {
        const { status, text } = await scrape(url, token);
        expect(status).toBe(401);
        expect(JSON.parse(text)).toEqual({
          error: expect.objectContaining({ type: 'authentication_error', code: 'invalid_metrics_token' }),
        });
      }
    }
  });

  it('should export training and cluster metrics while a job runs, and totals that match it after', async () => {
    const file = await client.files.create({
      file: await toFile(
        Buffer.from(Array.from({ length: 2 * STEPS }, (_, i) => mathLine(i, 1)).join('\n')),
        'm.jsonl',
      ),
      purpose: 'fine-tune',
    });
    const job = await client.fineTuning.jobs.create(tinyRlJob(file.id, { seed: 3 }));
    const stepRows = () =>
      queryDatabase<{ metrics: Record<string, number> }>(
        api.db.url,
        'SELECT metrics FROM training_metrics WHERE job_id = $1 ORDER BY step',
        [job.id],
      );
    await until('a first step', async () => (await stepRows()).length > 0);

    // During the job.
    const during = await metrics(worker.url);
    expect((await client.fineTuning.jobs.retrieve(job.id)).status).toBe('running');
    expectFamilies('worker', during.types);
    const w = during.samples;
    expect(
      value(w, 'tracetune_worker_info', {
        worker_id: 'worker-metrics',
        backend: 'wasm',
        accelerator: 'none',
        queues: 'training',
      }),
    ).toBe(1);
    expect(value(w, 'tracetune_worker_running_jobs')).toBe(1);
    expect(value(w, 'tracetune_fine_tuning_jobs', { status: 'running' })).toBe(1);
    expect(value(w, 'tracetune_fine_tuning_jobs', { status: 'succeeded' })).toBe(0);
    expect(value(w, 'tracetune_queue_jobs', { queue: 'training', state: 'active' })).toBe(1);
    expect(value(w, 'tracetune_queue_jobs', { queue: 'training-accelerated', state: 'waiting' })).toBe(0);
    expect(
      value(w, 'tracetune_training_step_duration_seconds_count', { method: 'reinforcement' }),
    ).toBeGreaterThan(0);
    expect(
      value(w, 'tracetune_training_step_duration_seconds_sum', { method: 'reinforcement' }),
    ).toBeGreaterThan(0);
    for (const phase of ['sampling', 'grading', 'update'])
      expect(value(w, 'tracetune_training_phase_duration_seconds_sum', { phase })).toBeGreaterThan(0);
    expect(value(w, 'tracetune_training_trained_tokens_total', { method: 'reinforcement' })).toBeGreaterThan(
      0,
    );
    expect(value(w, 'tracetune_training_sampled_tokens_total')).toBeGreaterThan(0);

    const apiDuring = await metrics(api.url);
    expectFamilies('api', apiDuring.types);
    expect(value(apiDuring.samples, 'tracetune_fine_tuning_jobs', { status: 'running' })).toBe(1);
    expect(value(apiDuring.samples, 'tracetune_queue_jobs', { queue: 'training', state: 'active' })).toBe(1);
    expect(
      value(apiDuring.samples, 'tracetune_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/fine_tuning/jobs',
        status: '200',
      }),
    ).toBe(1);

    // After it: the totals are exactly what the job reported step by step.
    await until('the job to succeed', async () => {
      const now = await client.fineTuning.jobs.retrieve(job.id);
      return now.status === 'succeeded' || now.status === 'failed' ? now : null;
    });
    const rows = await stepRows();
    expect(rows).toHaveLength(STEPS);
    const sum = (key: string) => rows.reduce((s, r) => s + r.metrics[key], 0);
    const after = (await metrics(worker.url)).samples;
    expect(value(after, 'tracetune_worker_running_jobs')).toBe(0);
    expect(value(after, 'tracetune_worker_jobs_total', { outcome: 'succeeded' })).toBe(1);
    expect(value(after, 'tracetune_fine_tuning_jobs', { status: 'succeeded' })).toBe(1);
    expect(value(after, 'tracetune_queue_jobs', { queue: 'training', state: 'completed' })).toBe(1);
    expect(value(after, 'tracetune_training_step_duration_seconds_count', { method: 'reinforcement' })).toBe(
      STEPS,
    );
    expect(
      value(after, 'tracetune_training_step_duration_seconds_sum', { method: 'reinforcement' }),
    ).toBeCloseTo(sum('step_time'), 6);
    for (const phase of ['sampling', 'grading', 'reference', 'update'])
      expect(value(after, 'tracetune_training_phase_duration_seconds_count', { phase })).toBe(STEPS);
    expect(value(after, 'tracetune_training_phase_duration_seconds_sum', { phase: 'sampling' })).toBeCloseTo(
      sum('time/sampling'),
      6,
    );
    expect(value(after, 'tracetune_training_trained_tokens_total', { method: 'reinforcement' })).toBe(
      sum('trained_tokens'),
    );
    expect(value(after, 'tracetune_training_sampled_tokens_total')).toBe(sum('sampled_tokens'));
    // Periodic checkpoints, the last step's and the final model: each published once.
    expect(value(after, 'tracetune_checkpoint_publish_duration_seconds_count')).toBeGreaterThanOrEqual(2);
  }, 240_000);

  it('should export latency, batching, KV and model-cache metrics while serving chat requests', async () => {
    const jobs = await client.fineTuning.jobs.list();
    const model = jobs.data.find((j) => j.status === 'succeeded')!.fine_tuned_model!;
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: '3+4=' }];
    const budget = KV_MB * 1024 * 1024;

    const first = await client.chat.completions.create({ model, messages, max_tokens: 8, seed: 1 });
    const stream = await client.chat.completions.create({
      model,
      messages,
      max_tokens: 24,
      seed: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    let during: Sample[] | null = null;
    let streamed = 0;
    for await (const chunk of stream) {
      if (!during) during = (await metrics(inference.url)).samples;
      if (chunk.usage) streamed = chunk.usage.completion_tokens;
    }
    // While a stream was open: whatever the engine was doing, the gauges stay within what was submitted.
    expect(value(during!, 'tracetune_inference_running_sequences', { engine: '0' })).toBeLessThanOrEqual(1);
    expect(value(during!, 'tracetune_inference_waiting_sequences', { engine: '0' })).toBe(0);
    expect(value(during!, 'tracetune_inference_kv_reserved_bytes', { engine: '0' })).toBeLessThanOrEqual(
      budget,
    );
    const four = await client.chat.completions.create({ model, messages, max_tokens: 6, n: 4, seed: 3 });
    expect(four.choices).toHaveLength(4);

    const { samples, types } = await metrics(inference.url);
    expectFamilies('inference', types);
    const completion = first.usage!.completion_tokens + streamed + four.usage!.completion_tokens;
    const prompt = first.usage!.prompt_tokens + four.usage!.prompt_tokens;
    expect(value(samples, 'tracetune_inference_requests_total', { outcome: 'done' })).toBe(3);
    expect(value(samples, 'tracetune_inference_time_to_first_token_seconds_count')).toBe(3);
    expect(value(samples, 'tracetune_inference_time_to_first_token_seconds_sum')).toBeGreaterThan(0);
    expect(value(samples, 'tracetune_inference_inter_token_latency_seconds_count')).toBeGreaterThan(0);
    expect(value(samples, 'tracetune_inference_generated_tokens_total')).toBe(completion);
    expect(value(samples, 'tracetune_inference_prompt_tokens_total')).toBeGreaterThanOrEqual(prompt);
    // Decode steps: one per token of the single-sequence requests, and rows of 4 for the n=4 one.
    expect(value(samples, 'tracetune_inference_batch_size_count')).toBeGreaterThan(0);
    expect(value(samples, 'tracetune_inference_batch_size_sum')).toBe(completion);
    expect(value(samples, 'tracetune_inference_batch_size_bucket', { le: '2' })).toBeLessThan(
      value(samples, 'tracetune_inference_batch_size_bucket', { le: '4' }),
    );
    expect(value(samples, 'tracetune_inference_running_sequences', { engine: '0' })).toBe(0);
    expect(value(samples, 'tracetune_inference_waiting_sequences', { engine: '0' })).toBe(0);
    expect(value(samples, 'tracetune_inference_kv_reserved_bytes', { engine: '0' })).toBe(0);
    expect(value(samples, 'tracetune_inference_kv_budget_bytes', { engine: '0' })).toBe(budget);
    expect(value(samples, 'tracetune_inference_model_loads_total')).toBe(3);
    expect(value(samples, 'tracetune_inference_model_evictions_total')).toBe(3);
    expect(value(samples, 'tracetune_inference_model_cache_bytes', { engine: '0' })).toBe(0);
  }, 120_000);
});
