import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import { artifactKey, createS3Client, S3ArtifactStore } from '@tracetune/storage';
import {
  mathLine,
  queryDatabase,
  startApp,
  startS3Server,
  tinyRlJob,
  type RunningProcess,
  type TestS3Server,
} from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Several hosts: an api, two workers and an inference server that share only PostgreSQL, Redis and an S3-compatible
 * store (s3rver, started here) — each with its own data directory, as on separate machines. Uploads, checkpoints and
 * models travel through S3 only.
 */
const PREFIX = 'deploy/tracetune';

/** Every file under a folder (hidden scratch and cache folders included), relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dir.length + 1));
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const result = await probe();
    if (result) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('api, two workers and inference on separate data directories, sharing S3', () => {
  let s3: TestS3Server;
  let api: TestApi;
  let client: OpenAI;
  const workers: RunningProcess[] = [];
  const workerDirs: string[] = [];
  let inference: RunningProcess;
  let inferenceDir: string;
  let store: S3ArtifactStore;
  let storeCache: string;

  beforeAll(async () => {
    s3 = await startS3Server();
    inferenceDir = await mkdtemp(join(tmpdir(), 'tt-host-inference-'));
    inference = await startApp(
      'inference',
      {
        ...s3.env(PREFIX),
        TRACETUNE_DATA_DIR: inferenceDir,
        TRACETUNE_BACKEND: 'wasm',
        TRACETUNE_INFERENCE_THREADS: '1',
      },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({ ...s3.env(PREFIX), INFERENCE_URL: inference.url });
    client = api.openai(api.adminKey);
    // Both workers boot at once (each loads its TensorFlow.js backend), as hosts would.
    const ids = ['host-a', 'host-b'];
    for (const id of ids) workerDirs.push(await mkdtemp(join(tmpdir(), `tt-host-${id}-`)));
    workers.push(
      ...(await Promise.all(
        ids.map((id, i) =>
          startApp('worker', {
            ...s3.env(PREFIX),
            DATABASE_URL: api.db.url,
            TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
            TRACETUNE_DATA_DIR: workerDirs[i],
            TRACETUNE_BACKEND: 'wasm',
            TRACETUNE_WORKER_ID: id,
          }),
        ),
      )),
    );
    storeCache = await mkdtemp(join(tmpdir(), 'tt-host-reader-'));
    store = new S3ArtifactStore({
      bucket: s3.bucket,
      prefix: PREFIX,
      cacheDir: storeCache,
      client: createS3Client({
        endpoint: s3.endpoint,
        region: 'us-east-1',
        accessKeyId: 'S3RVER',
        secretAccessKey: 'S3RVER',
        forcePathStyle: true,
      }),
    });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop('SIGKILL')));
    await inference?.stop();
    await api?.close();
    await store?.close();
    await s3?.close();
    for (const dir of [...workerDirs, inferenceDir, storeCache])
      await rm(dir, { recursive: true, force: true });
  });

  it('should run four jobs on two workers, publish everything to S3, and serve a model on another host', async () => {
    for (const worker of workers) {
      const health = (await (await fetch(`${worker.url}/health`)).json()) as {
        checks: Record<string, unknown>;
      };
      expect(health.checks['storage']).toEqual(expect.objectContaining({ status: 'ok' }));
    }
    const file = await client.files.create({
      file: await toFile(Buffer.from([1, 2, 3, 4].map((a) => mathLine(a, 2)).join('\n')), 'train.jsonl'),
      purpose: 'fine-tune',
    });
    const jobs = [];
    for (const seed of [1, 2, 3, 4]) {
      jobs.push(
        await client.fineTuning.jobs.create(
          tinyRlJob(file.id, { seed, algorithm: { max_completion_tokens: 8 } }),
        ),
      );
    }
    const done = await Promise.all(
      jobs.map((j) =>
        until(`job ${j.id}`, async () => {
          const job = await client.fineTuning.jobs.retrieve(j.id);
          return ['succeeded', 'failed', 'cancelled'].includes(job.status) ? job : null;
        }),
      ),
    );
    expect(done.map((j) => [j.status, j.error])).toEqual(
      Array.from({ length: 4 }, () => ['succeeded', null]),
    );
    const rows = await queryDatabase<{ worker_id: string; attempt: number }>(
      api.db.url,
      'SELECT worker_id, attempt FROM fine_tuning_jobs WHERE id = ANY($1)',
      [jobs.map((j) => j.id)],
    );
    expect(rows.every((r) => r.attempt === 1)).toBe(true);
    expect(new Set(rows.map((r) => r.worker_id))).toEqual(new Set(['host-a', 'host-b']));

    // Everything lives in S3: the upload, each job's checkpoints and final model (whole, by manifest).
    const keys = await store.list();
    // The upload and each succeeded job's results file (step_metrics.csv).
    const fileIds = [file.id, ...done.flatMap((j) => j.result_files)];
    expect(fileIds).toHaveLength(1 + done.length);
    expect(keys.filter((k) => k.startsWith('files/')).sort()).toEqual(
      fileIds.map((id) => `files/org-default/${id}`).sort(),
    );
    for (const job of done) {
      const final = await store.localDirectory(artifactKey('jobs', job.id, 'checkpoints', 'final'));
      expect((await filesUnder(final)).sort()).toEqual(
        expect.arrayContaining(['config.json', 'model.safetensors', 'trainer_state.json']),
      );
      expect(keys.some((k) => k.startsWith(`jobs/${job.id}/checkpoints/step-`))).toBe(true);
    }
    // …and nothing on the hosts' disks: the api kept no file, the workers' scratch folders are gone.
    expect(await filesUnder(api.dataDir)).toEqual([]);
    for (const dir of workerDirs)
      expect((await filesUnder(dir)).filter((f) => !f.startsWith('.staging'))).toEqual([]);

    // The inference host has never seen these models: it downloads one from S3 into its own cache on first use.
    const model = done[0].fine_tuned_model!;
    const reply = await client.chat.completions.create({
      model,
      messages: [{ role: 'user', content: '1+2=' }],
      max_tokens: 6,
      seed: 1,
    });
    expect(reply.choices[0].message.role).toBe('assistant');
    expect(reply.usage!.completion_tokens).toBeGreaterThan(0);
    expect(await filesUnder(join(inferenceDir, 'jobs', done[0].id, 'checkpoints', 'final'))).toEqual(
      expect.arrayContaining(['config.json', 'model.safetensors']),
    );
  }, 240_000);

  it('should resume a paused job from its checkpoint in S3, on whichever host takes it', async () => {
    const file = await client.files.create({
      file: await toFile(
        Buffer.from(Array.from({ length: 24 }, (_, i) => mathLine(i, 3)).join('\n')),
        'long.jsonl',
      ),
      purpose: 'fine-tune',
    });
    const created = await client.fineTuning.jobs.create(
      tinyRlJob(file.id, { seed: 9, algorithm: { max_completion_tokens: 8 } }),
    );
    const steps = () =>
      queryDatabase<{ step: number }>(
        api.db.url,
        'SELECT step FROM training_metrics WHERE job_id = $1 ORDER BY step',
        [created.id],
      ).then((r) => r.map((x) => x.step));
    await until('a first step', async () => (await steps()).length > 0);
    await client.fineTuning.jobs.pause(created.id);
    await until(
      'the pause',
      async () => (await client.fineTuning.jobs.retrieve(created.id)).status === ('paused' as string),
    );
    const pausedAt = (await steps()).length;
    expect(await store.exists(artifactKey('jobs', created.id, 'checkpoints', `step-${pausedAt}`))).toBe(true);
    await client.fineTuning.jobs.resume(created.id);
    const job = await until('the job to finish', async () => {
      const now = await client.fineTuning.jobs.retrieve(created.id);
      return ['succeeded', 'failed'].includes(now.status) ? now : null;
    });
    expect([job.status, job.error]).toEqual(['succeeded', null]);
    expect(await steps()).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const messages = (await client.fineTuning.jobs.listEvents(created.id, { limit: 100 })).data.map(
      (e) => e.message,
    );
    expect(messages.some((m) => m.startsWith(`Resuming from checkpoint at step ${pausedAt}`))).toBe(true);
  }, 240_000);
});
