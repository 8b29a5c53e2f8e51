import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import { startApp, type RunningProcess } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Checkpoint sharing across two organizations with the official SDK: the owner's admin key (the SDK's `adminAPIKey`)
 * grants and revokes; the granted organization chats with the checkpoint and fine-tunes from it meanwhile, and loses
 * both once revoked. Real api, worker and inference processes sharing one data directory.
 */
describe('checkpoint permissions across organizations (official openai SDK)', () => {
  let api: TestApi;
  let inference: RunningProcess;
  let worker: RunningProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tt-share-'));
    inference = await startApp(
      'inference',
      { TRACETUNE_DATA_DIR: dataDir, TRACETUNE_BACKEND: 'wasm', TRACETUNE_INFERENCE_THREADS: '1' },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({ INFERENCE_URL: inference.url, TRACETUNE_DATA_DIR: dataDir });
    worker = await startApp('worker', {
      DATABASE_URL: api.db.url,
      REDIS_URL: 'redis://127.0.0.1:6379',
      TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
      TRACETUNE_DATA_DIR: dataDir,
      TRACETUNE_BACKEND: 'wasm',
      TRACETUNE_WORKER_ID: 'worker-share',
    });
  }, 120_000);
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await api?.close();
    await inference?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const sftLine = (a: number) =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `${a}+1?` },
        { role: 'assistant', content: String(a + 1) },
      ],
    });

  async function train(client: OpenAI, model: string): Promise<OpenAI.FineTuning.FineTuningJob> {
    const file = await client.files.create({
      file: await toFile(Buffer.from([1, 2].map(sftLine).join('\n')), 'sft.jsonl'),
      purpose: 'fine-tune',
    });
    const created = await client.fineTuning.jobs.create({
      model,
      training_file: file.id,
      method: { type: 'supervised', supervised: { hyperparameters: { batch_size: 2, n_epochs: 1 } } },
    });
    const deadline = Date.now() + 120_000;
    for (;;) {
      const job = await client.fineTuning.jobs.retrieve(created.id);
      if (['succeeded', 'failed', 'cancelled'].includes(job.status)) return job;
      if (Date.now() > deadline) throw new Error(`job ${job.id} is still ${job.status}:\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async function key(role: 'admin' | 'member', organization: string): Promise<string> {
    const created = (await api.root(api.adminKey).post('/admin/api-keys', {
      body: { name: `${role} ${organization}`, role, organization_id: organization },
    })) as { key: string };
    return created.key;
  }

  it('should let a permitted organization chat with and fine-tune from a checkpoint until it is revoked', async () => {
    const owner = api.openai(api.adminKey);
    const job = await train(owner, 'tt-nano');
    expect(job.status).toBe('succeeded');
    const checkpoint = (await owner.fineTuning.jobs.checkpoints.list(job.id)).data[0]
      .fine_tuned_model_checkpoint;

    const other = api.openai(await key('member', 'org-b'));
    const chat = () =>
      other.chat.completions.create({
        model: checkpoint,
        messages: [{ role: 'user', content: '1+1?' }],
        max_tokens: 3,
      });
    await expect(chat()).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const admin = new OpenAI({ adminAPIKey: api.adminKey, baseURL: `${api.url}/v1`, maxRetries: 0 });
    const granted = await admin.fineTuning.checkpoints.permissions.create(checkpoint, {
      project_ids: ['org-b'],
    });
    expect(granted.data).toEqual([
      {
        id: expect.stringMatching(/^cp-/),
        object: 'checkpoint.permission',
        created_at: expect.any(Number),
        project_id: 'org-b',
      },
    ]);
    const listed = await admin.fineTuning.checkpoints.permissions.retrieve(checkpoint, {
      project_id: 'org-b',
    });
    expect(listed.data.map((p) => p.id)).toEqual([granted.data[0].id]);

    expect((await chat()).choices).toHaveLength(1);
    expect((await other.models.list()).data.map((m) => m.id)).toContain(checkpoint);
    const derived = await train(other, checkpoint);
    expect(derived.error).toBeNull();
    expect(derived.status).toBe('succeeded');
    expect(derived.organization_id).toBe('org-b');

    // Only an admin key of the owner manages permissions.
    const member = new OpenAI({
      adminAPIKey: await key('member', 'org-default'),
      baseURL: `${api.url}/v1`,
      maxRetries: 0,
    });
    await expect(member.fineTuning.checkpoints.permissions.retrieve(checkpoint)).rejects.toMatchObject({
      status: 403,
    });
    const strangerAdmin = new OpenAI({
      adminAPIKey: await key('admin', 'org-b'),
      baseURL: `${api.url}/v1`,
      maxRetries: 0,
    });
    await expect(
      strangerAdmin.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: ['org-b'] }),
    ).rejects.toMatchObject({ status: 404, param: 'fine_tuned_model_checkpoint' });
    await expect(
      admin.fineTuning.checkpoints.permissions.create(checkpoint, { project_ids: ['org-nowhere'] }),
    ).rejects.toMatchObject({ status: 404, param: 'project_ids[0]' });

    const deleted = await admin.fineTuning.checkpoints.permissions.delete(granted.data[0].id, {
      fine_tuned_model_checkpoint: checkpoint,
    });
    expect(deleted).toEqual({ id: granted.data[0].id, object: 'checkpoint.permission', deleted: true });
    await expect(chat()).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      other.fineTuning.jobs.create({ model: checkpoint, training_file: derived.training_file }),
    ).rejects.toMatchObject({ status: 400, param: 'model' });
    expect((await admin.fineTuning.checkpoints.permissions.retrieve(checkpoint)).data).toEqual([]);
  }, 300_000);
});
