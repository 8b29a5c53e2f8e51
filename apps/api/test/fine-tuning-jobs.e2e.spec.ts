import { mkdtemp, rm, symlink, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI, { toFile } from 'openai';

import type { CreatedApiKey } from '@tracetune/contracts';
import { builtinConfig, saveCheckpoint, setupBackend, TransformerModel } from '@tracetune/model';
import { MATH_GRADER } from '@tracetune/testing';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { startTestApi, type TestApi } from './api-test-app';

const rftLine = (a: number, b: number) =>
  JSON.stringify({ messages: [{ role: 'user', content: `What is ${a}+${b}?` }], answer: String(a + b) });
const chatLine = (a: number, b: number) =>
  JSON.stringify({
    messages: [
      { role: 'user', content: `What is ${a}+${b}?` },
      { role: 'assistant', content: `#### ${a + b}` },
    ],
  });

type BadRequest = InstanceType<typeof OpenAI.BadRequestError>;

describe('fine-tuning jobs API (official openai SDK; no worker running, so jobs stay queued)', () => {
  let api: TestApi;
  let client: OpenAI;
  let rftFile: string;
  let chatFile: string;

  beforeAll(async () => {
    api = await startTestApi();
    client = api.openai(api.adminKey);
    const upload = async (lines: string[]) =>
      (
        await client.files.create({
          file: await toFile(Buffer.from(lines.join('\n')), 'd.jsonl'),
          purpose: 'fine-tune',
        })
      ).id;
    rftFile = await upload([rftLine(1, 2), rftLine(3, 4), rftLine(5, 6)]);
    chatFile = await upload([chatLine(1, 2), chatLine(3, 4)]);
  });
  afterAll(() => api.close());

  const rlJob = (extra: Record<string, unknown> = {}, algorithm: Record<string, unknown> = {}) =>
    ({
      model: 'tt-nano',
      training_file: rftFile,
      method: {
        type: 'reinforcement',
        reinforcement: { grader: MATH_GRADER, hyperparameters: { batch_size: 2 }, algorithm },
      },
      ...extra,
    }) as unknown as OpenAI.FineTuning.JobCreateParams;

  it('should create a GRPO-λ job with every default resolved and stored', async () => {
    const job = await client.fineTuning.jobs.create(
      rlJob({ suffix: 'math', seed: 7, metadata: { team: 'rl' } }),
    );
    expect(job).toMatchObject({
      object: 'fine_tuning.job',
      model: 'tt-nano',
      status: 'queued',
      seed: 7,
      training_file: rftFile,
    });
    expect(job.id).toMatch(/^ftjob-/);
    const method = job.method as unknown as {
      reinforcement: { algorithm: Record<string, unknown>; hyperparameters: Record<string, unknown> };
    };
    expect(method.reinforcement.algorithm).toMatchObject({
      name: 'grpo_lambda',
      lambda: 0.99,
      gamma: 1,
      trace_style: 'both',
      variant: 'eps_trace',
      advantage_clamp_min: -0.1,
      num_generations: 8,
    });
    expect(method.reinforcement.hyperparameters).toMatchObject({
      batch_size: 2,
      n_epochs: 1,
      total_steps: 2,
    });
    const events = await client.fineTuning.jobs.listEvents(job.id);
    expect(events.data.map((e) => e.message)).toEqual(
      expect.arrayContaining([`Created fine-tuning job: ${job.id}`, 'Job enqueued']),
    );
    expect((await client.fineTuning.jobs.retrieve(job.id)).id).toBe(job.id);
  });

  it('should default plain GRPO to no advantage clamp', async () => {
    const job = await client.fineTuning.jobs.create(rlJob({}, { name: 'grpo' }));
    expect(
      (job.method as unknown as { reinforcement: { algorithm: { advantage_clamp_min: null } } }).reinforcement
        .algorithm.advantage_clamp_min,
    ).toBeNull();
  });

  it('should create a supervised job from chat data', async () => {
    const job = await client.fineTuning.jobs.create({
      model: 'tt-nano',
      training_file: chatFile,
      method: { type: 'supervised' },
    });
    expect(job.status).toBe('queued');
    expect(job.hyperparameters).toMatchObject({ n_epochs: 3, batch_size: 2 });
  });

  it('should honour Idempotency-Key: a repeated create returns the same job', async () => {
    const headers = { 'Idempotency-Key': 'same-request' };
    const first = await client.fineTuning.jobs.create(rlJob(), { headers });
    const second = await client.fineTuning.jobs.create(rlJob(), { headers });
    expect(second.id).toBe(first.id);
  });

  it('should not create a second job when the SDK retries a create whose answer was lost', async () => {
    const body = rlJob({ suffix: 'retried' });
    const first = await client.fineTuning.jobs.create(body);
    // What the SDK sends when it retries after a lost response: the same body, marked as a retry.
    const retried = await client.fineTuning.jobs.create(body, {
      headers: { 'x-stainless-retry-count': '1' },
    });
    expect(retried.id).toBe(first.id);
    const deliberate = await client.fineTuning.jobs.create(body);
    expect(deliberate.id).not.toBe(first.id);
  });

  it('should list with a cursor and filter by metadata', async () => {
    const tagged = await client.fineTuning.jobs.create(rlJob({ metadata: { experiment: 'lambda-sweep' } }));
    const filtered = await client.fineTuning.jobs.list({ metadata: { experiment: 'lambda-sweep' } } as never);
    expect(filtered.data.map((j) => j.id)).toEqual([tagged.id]);
    const page = await client.fineTuning.jobs.list({ limit: 2 });
    expect(page.data).toHaveLength(2);
    expect(page.has_more).toBe(true);
    const all: string[] = [];
    for await (const job of client.fineTuning.jobs.list({ limit: 2 })) all.push(job.id);
    expect(new Set(all).size).toBe(all.length);
    expect(all).toContain(tagged.id);
  });

  it('should cancel a queued job at once and refuse a second cancel with a non-retryable 409', async () => {
    const job = await client.fineTuning.jobs.create(rlJob());
    expect((await client.fineTuning.jobs.cancel(job.id)).status).toBe('cancelled');
    const response = await fetch(`${api.url}/v1/fine_tuning/jobs/${job.id}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.adminKey}` },
    });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
  });

  it('should pause a queued job and resume it to the queue', async () => {
    const job = await client.fineTuning.jobs.create(rlJob());
    expect((await client.fineTuning.jobs.pause(job.id)).status).toBe('paused');
    expect((await client.fineTuning.jobs.resume(job.id)).status).toBe('queued');
  });

  it.each([
    ['an unknown model', { model: 'gpt-99' }, {}, 'model'],
    ['a file that does not exist', { training_file: 'file-nope' }, {}, 'training_file'],
    ['λ = 1.5', {}, { lambda: 1.5 }, 'method.reinforcement.algorithm.lambda'],
    ['an unknown algorithm name', {}, { name: 'ppo' }, 'method.reinforcement.algorithm.name'],
    ['an unknown algorithm field', {}, { lamda: 0.9 }, 'method.reinforcement.algorithm.lamda'],
  ])('should refuse %s with a 400 naming the param', async (_name, extra, algorithm, param) => {
    const error = await client.fineTuning.jobs.create(rlJob(extra, algorithm)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as BadRequest).param).toBe(param);
  });

  it("should refuse a setting only rl-core's validation rejects (epsilon_high below epsilon) with a 400 naming it", async () => {
    const error = (await client.fineTuning.jobs
      .create(rlJob({}, { epsilon: 0.3, epsilon_high: 0.25 }))
      .catch((e: unknown) => e)) as BadRequest;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('method.reinforcement.algorithm.epsilon_high');
    expect(error.message).toMatch(/epsilonHigh = 0\.25 must be finite and ≥ epsilon = 0\.3/);
  });

  it('should refuse batch size 0', async () => {
    const body = rlJob();
    (
      body.method as unknown as { reinforcement: { hyperparameters: { batch_size: number } } }
    ).reinforcement.hyperparameters.batch_size = 0;
    const error = (await client.fineTuning.jobs.create(body).catch((e: unknown) => e)) as BadRequest;
    expect(error.param).toBe('method.reinforcement.hyperparameters.batch_size');
  });

  it('should refuse a file with the wrong format for the method', async () => {
    const asRl = (await client.fineTuning.jobs
      .create(rlJob({ training_file: chatFile }))
      .catch((e: unknown) => e)) as BadRequest;
    expect(asRl).toBeInstanceOf(OpenAI.BadRequestError);
    expect(asRl.param).toBe('training_file');
    expect(asRl.code).toBe('invalid_file_format');
    const asSft = (await client.fineTuning.jobs
      .create({ model: 'tt-nano', training_file: rftFile, method: { type: 'supervised' } })
      .catch((e: unknown) => e)) as BadRequest;
    expect(asSft.param).toBe('training_file');
  });

  it('should refuse a file that is not processed', async () => {
    const bad = await client.files.create({
      file: await toFile(Buffer.from('not json\n'), 'bad.jsonl'),
      purpose: 'fine-tune',
    });
    const error = (await client.fineTuning.jobs
      .create(rlJob({ training_file: bad.id }))
      .catch((e: unknown) => e)) as BadRequest;
    expect(error.param).toBe('training_file');
    expect(error.code).toBe('file_not_processed');
  });

  it('should refuse a grader variable absent from the data, naming the line', async () => {
    const grader = { ...MATH_GRADER, reference: '{{item.solution}}' };
    const body = rlJob();
    (body.method as unknown as { reinforcement: { grader: unknown } }).reinforcement.grader = grader;
    const error = (await client.fineTuning.jobs.create(body).catch((e: unknown) => e)) as BadRequest;
    expect(error.param).toBe('method.reinforcement.grader.reference');
    expect(error.message).toMatch(/item\.solution.*line 1/);
  });

  it("should refuse another organization's file and hide jobs across organizations", async () => {
    const other = await api.root(api.adminKey).post<CreatedApiKey>('/admin/api-keys', {
      body: { name: 'b', role: 'member', organization_id: 'org-b' },
    });
    const theirs = api.openai(other.key);
    const error = (await theirs.fineTuning.jobs.create(rlJob()).catch((e: unknown) => e)) as BadRequest;
    expect(error.param).toBe('training_file');
    const mine = await client.fineTuning.jobs.create(rlJob());
    await expect(theirs.fineTuning.jobs.retrieve(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(theirs.fineTuning.jobs.cancel(mine.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await theirs.fineTuning.jobs.list()).data).toEqual([]);
  });
});

describe('models API', () => {
  let api: TestApi;
  let client: OpenAI;
  let dir: string;

  beforeAll(async () => {
    await setupBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'tt-import-'));
    api = await startTestApi({ TRACETUNE_MODEL_IMPORT_DIR: dir });
    client = api.openai(api.adminKey);
    const model = TransformerModel.random(builtinConfig('tt-nano'), 1);
    saveCheckpoint(model, new ByteTokenizer(), join(dir, 'tiny'));
    model.dispose();
  });
  afterAll(async () => {
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('should list the built-in base models for every organization', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['tt-nano', 'tt-micro', 'tt-mini']));
    expect((await client.models.retrieve('tt-nano')).owned_by).toBe('tracetune');
  });

  it('should import a Hugging Face checkpoint directory and serve an id with a slash', async () => {
    const imported = await api
      .root(api.adminKey)
      .post<{ id: string }>('/admin/models/import', { body: { path: join(dir, 'tiny'), id: 'acme/tiny' } });
    expect(imported.id).toBe('acme/tiny');
    const retrieved = await client.models.retrieve('acme/tiny');
    expect(retrieved).toMatchObject({ id: 'acme/tiny', object: 'model', owned_by: 'system' });
  });

  it('should refuse a checkpoint with a missing tensor, naming it', async () => {
    const broken = join(dir, 'broken');
    const model = TransformerModel.random(builtinConfig('tt-nano'), 2);
    saveCheckpoint(model, new ByteTokenizer(), broken);
    model.dispose();
    await unlink(join(broken, 'model.safetensors'));
    const error = (await api
      .root(api.adminKey)
      .post('/admin/models/import', { body: { path: broken, id: 'broken' } })
      .catch((e: unknown) => e)) as BadRequest;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('path');
    expect(error.message).toMatch(/safetensors/);
  });

  it('should import only from the import directory, never from the data directory, revealing nothing', async () => {
    const admin = api.root(api.adminKey);
    const outside = await mkdtemp(join(tmpdir(), 'tt-outside-'));
    await symlink(join(dir, 'tiny'), join(dir, 'link')); // a folder that is a link: its real place is checked
    await symlink(api.dataDir, join(dir, 'data')); // the data directory reached through the import directory
    const answers = [];
    for (const path of [outside, '../', 'nope', join(dir, 'data'), 'data', '/etc', '']) {
      const error = (await admin
        .post('/admin/models/import', { body: { path, id: 'x' } })
        .catch((e: unknown) => e)) as BadRequest;
      answers.push([
        error.status,
        error.param,
        error.message.replace(JSON.stringify(path).slice(1, -1), '<path>'),
      ]);
    }
    // One answer whether the folder exists, is outside or is the data directory: the file system stays hidden.
    expect(new Set(answers.slice(0, 6).map((a) => JSON.stringify(a))).size).toBe(1);
    expect(answers[0]).toEqual([
      400,
      'path',
      "400 No importable model folder '<path>' in the import directory.",
    ]);
    expect(answers[6][1]).toBe('path');
    await expect(
      admin.post('/admin/models/import', { body: { path: 'link', id: 'acme/linked' } }),
    ).resolves.toMatchObject({
      id: 'acme/linked',
    });
    await rm(outside, { recursive: true, force: true });
  });

  it('should answer an unknown model with NotFoundError and refuse deleting a base model', async () => {
    await expect(client.models.retrieve('no-such-model')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(client.models.delete('tt-nano')).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });
});
