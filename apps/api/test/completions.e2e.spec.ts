import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

import { builtinConfig, saveCheckpoint, setupBackend, TransformerModel } from '@tracetune/model';
import { queryDatabase, startApp, type RunningProcess } from '@tracetune/testing';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Inference through the api's base URL with the official SDK: a real inference process (engine on a worker thread,
 * wasm backend) and the real api proxying to it.
 */
describe('chat and completions (official openai SDK, real inference process)', () => {
  let api: TestApi;
  let inference: RunningProcess;
  let client: OpenAI;
  let dir: string;

  beforeAll(async () => {
    await setupBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'tt-inf-'));
    const model = TransformerModel.random(builtinConfig('tt-nano'), 3);
    saveCheckpoint(model, new ByteTokenizer(), join(dir, 'tiny'));
    model.dispose();
    const dataDir = await mkdtemp(join(tmpdir(), 'tt-inf-data-'));
    // Two engine threads (data parallel): requests of one test may run on either, and must not notice.
    inference = await startApp(
      'inference',
      { TRACETUNE_DATA_DIR: dataDir, TRACETUNE_BACKEND: 'wasm', TRACETUNE_INFERENCE_THREADS: '2' },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({
      INFERENCE_URL: inference.url,
      TRACETUNE_DATA_DIR: dataDir,
      TRACETUNE_MODEL_IMPORT_DIR: dir,
    });
    client = api.openai(api.adminKey);
    await api
      .root(api.adminKey)
      .post('/admin/models/import', { body: { path: join(dir, 'tiny'), id: 'acme/tiny' } });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await inference?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'What is 2+2?' }];

  it('should answer a chat completion with exact usage', async () => {
    const completion = await client.chat.completions.create({
      model: 'tt-nano',
      messages,
      max_tokens: 8,
      seed: 1,
    });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0].message.role).toBe('assistant');
    expect(['stop', 'length']).toContain(completion.choices[0].finish_reason);
    expect(completion.usage!.total_tokens).toBe(
      completion.usage!.prompt_tokens + completion.usage!.completion_tokens,
    );
    expect(completion.usage!.completion_tokens).toBeLessThanOrEqual(8);
  });

  it('should stream chunks, end with a usage chunk, and match the non-streamed text for the same seed', async () => {
    const stream = await client.chat.completions.create({
      model: 'tt-nano',
      messages,
      max_tokens: 12,
      seed: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        text += choice.delta.content ?? '';
        finish = choice.finish_reason ?? finish;
      }
    }
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(finish).not.toBeNull();
    const whole = await client.chat.completions.create({
      model: 'tt-nano',
      messages,
      max_tokens: 12,
      seed: 5,
    });
    expect(whole.choices[0].message.content).toBe(text);
  });

  it('should reproduce outputs for a seed and give n distinct choices', async () => {
    const a = await client.chat.completions.create({
      model: 'tt-nano',
      messages,
      max_tokens: 16,
      seed: 42,
      n: 3,
    });
    const b = await client.chat.completions.create({
      model: 'tt-nano',
      messages,
      max_tokens: 16,
      seed: 42,
      n: 3,
    });
    expect(a.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    expect(b.choices.map((c) => c.message.content)).toEqual(a.choices.map((c) => c.message.content));
    expect(new Set(a.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
  });

  it('should return log-probs with top alternatives', async () => {
    const completion = await client.chat.completions.create({
      model: 'tt-nano',
      messages,
      max_tokens: 4,
      seed: 2,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = completion.choices[0].logprobs!.content!;
    expect(content.length).toBe(completion.usage!.completion_tokens);
    for (const token of content) {
      expect(token.logprob).toBeLessThanOrEqual(0);
      expect(token.top_logprobs).toHaveLength(3);
      expect(token.top_logprobs[0].logprob).toBeGreaterThanOrEqual(token.top_logprobs[2].logprob);
    }
  });

  it('should stop at a stop sequence', async () => {
    // Greedy decoding of this seedless model repeats itself; find a character it emits and stop on it.
    const free = await client.completions.create({
      model: 'tt-nano',
      prompt: 'abc',
      max_tokens: 20,
      temperature: 0,
    });
    const stopAt = free.choices[0].text.slice(3, 4);
    expect(stopAt.length).toBe(1);
    const stopped = await client.completions.create({
      model: 'tt-nano',
      prompt: 'abc',
      max_tokens: 20,
      temperature: 0,
      stop: [stopAt],
    });
    expect(stopped.choices[0].text).toBe(free.choices[0].text.slice(0, free.choices[0].text.indexOf(stopAt)));
    expect(stopped.choices[0].finish_reason).toBe('stop');
  });

  it('should answer legacy completions for a prompt array', async () => {
    const completion = await client.completions.create({
      model: 'tt-nano',
      prompt: ['one', 'two'],
      max_tokens: 3,
      seed: 1,
      logprobs: 2,
    });
    expect(completion.object).toBe('text_completion');
    expect(completion.choices.map((c) => c.index)).toEqual([0, 1]);
    expect(completion.choices[0].finish_reason).toBe('length');
    expect(completion.choices[0].logprobs!.tokens!.length).toBe(3);
  });

  it('should constrain json_object output so it parses', async () => {
    for (const seed of [1, 2, 3]) {
      const completion = await client.chat.completions.create({
        model: 'tt-nano',
        messages,
        max_tokens: 24,
        seed,
        response_format: { type: 'json_object' },
      });
      const parsed: unknown = JSON.parse(completion.choices[0].message.content!);
      expect(typeof parsed).toBe('object');
    }
  });

  it('should serve an imported checkpoint from artifact storage', async () => {
    const completion = await client.chat.completions.create({
      model: 'acme/tiny',
      messages,
      max_tokens: 4,
      seed: 1,
    });
    expect(completion.model).toBe('acme/tiny');
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("should answer an unknown model and another organization's fine-tuned model with NotFoundError", async () => {
    await expect(client.chat.completions.create({ model: 'nope', messages })).rejects.toBeInstanceOf(
      OpenAI.NotFoundError,
    );
    await queryDatabase(
      api.db.url,
      "INSERT INTO organizations (id, name) VALUES ('org-other', 'other') ON CONFLICT DO NOTHING",
    );
    await queryDatabase(
      api.db.url,
      `INSERT INTO models (id, organization_id, kind, source, architecture) VALUES ('ft:tt-nano:org-other::abcd1234', 'org-other', 'fine_tuned', 'trained', '{}')`,
    );
    await expect(
      client.chat.completions.create({ model: 'ft:tt-nano:org-other::abcd1234', messages }),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('should refuse unsupported parameters by name and context overflow with the limits', async () => {
    const audio = (await client.chat.completions
      .create({ model: 'tt-nano', messages, audio: { voice: 'alloy', format: 'wav' } })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(audio).toBeInstanceOf(OpenAI.BadRequestError);
    expect(audio.param).toBe('audio');
    expect(audio.code).toBe('unsupported_parameter');
    const overflow = (await client.chat.completions
      .create({ model: 'tt-nano', messages: [{ role: 'user', content: 'x'.repeat(600) }], max_tokens: 100 })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(overflow).toBeInstanceOf(OpenAI.BadRequestError);
    expect(overflow.message).toMatch(/maximum context length is 512 tokens/);
    expect(overflow.code).toBe('context_length_exceeded');
    expect(overflow.param).toBe('messages');
    const budget = (await client.chat.completions
      .create({ model: 'tt-nano', messages, max_tokens: 1e9 })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.BadRequestError>;
    expect(budget).toBeInstanceOf(OpenAI.BadRequestError);
    expect({ code: budget.code, param: budget.param }).toEqual({
      code: 'context_length_exceeded',
      param: 'max_tokens',
    });
  });

  it('should finish 8 concurrent streams while /health keeps answering', async () => {
    let streaming = true;
    const healthLatencies: number[] = [];
    const probe = (async () => {
      while (streaming) {
        const started = performance.now();
        const response = await fetch(`${api.url}/health`);
        expect(response.status).toBe(200);
        healthLatencies.push(performance.now() - started);
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    const streams = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (async () => {
          const stream = await client.chat.completions.create({
            model: 'tt-nano',
            messages,
            max_tokens: 32,
            seed: i,
            stream: true,
            stream_options: { include_usage: true },
          });
          let tokens = 0;
          for await (const chunk of stream) if (chunk.usage) tokens = chunk.usage.completion_tokens;
          return tokens;
        })(),
      ),
    );
    streaming = false;
    await probe;
    expect(streams.every((t) => t > 0)).toBe(true);
    expect(healthLatencies.length).toBeGreaterThan(2);
  }, 60_000);

  it('should free the batch slot of a stream the client closes', async () => {
    const running = async (): Promise<number> =>
      (
        (await fetch(`${inference.url}/health`).then((r) => r.json())) as {
          details: { runningPerEngine: number[] };
        }
      ).details.runningPerEngine.reduce((a, b) => a + b, 0);
    expect(await running()).toBe(0);
    // The same seeded request run to the end: it generates all its tokens (no early stop token), which takes a while.
    const request = { model: 'tt-micro', messages, max_tokens: 300, seed: 9 };
    let started = performance.now();
    const full = await client.chat.completions.create(request);
    const fullMs = performance.now() - started;
    expect(full.choices[0].finish_reason).toBe('length');
    const stream = await client.chat.completions.create({ ...request, stream: true });
    let chunks = 0;
    for await (const chunk of stream) {
      expect(chunk.object).toBe('chat.completion.chunk');
      if (++chunks === 3) break; // leaving the loop aborts the HTTP request (the SDK's stream controller)
    }
    started = performance.now();
    // The api's aborted upstream request reaches the engine, which confirms once the row has left its batch: far
    // sooner than the generation would have ended by itself.
    while ((await running()) > 0 && performance.now() - started < fullMs)
      await new Promise((r) => setTimeout(r, 10));
    const dropMs = performance.now() - started;
    expect(await running()).toBe(0);
    expect(dropMs).toBeLessThan(fullMs / 4);
  }, 60_000);

  it('should spread concurrent requests over the engine threads once the first is full, with the same answers', async () => {
    const health = async (): Promise<number[]> =>
      (
        (await fetch(`${inference.url}/health`).then((r) => r.json())) as {
          details: { requestsPerEngine: number[] };
        }
      ).details.requestsPerEngine;
    const before = await health();
    expect(before).toHaveLength(2);
    // Seeds whose completions run all 300 tokens (no early stop token): every request is still running when the last
    // of the 12 arrives, so the first engine holds 8 running sequences and the rest spill to the other.
    const seeds = [9, 10, 11, 21];
    const ask = (seed: number) =>
      client.chat.completions.create({ model: 'tt-micro', messages, max_tokens: 300, seed });
    const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(seeds[i % 4])));
    const after = await health();
    expect(after[1] - before[1]).toBeGreaterThanOrEqual(1);
    expect(after[0] + after[1] - before[0] - before[1]).toBe(12);
    // Requests i, i + 4 and i + 8 share a seed but may have run on different engines: the same text either way.
    for (let i = 4; i < 12; i++)
      expect(answers[i].choices[0].message.content).toBe(answers[i % 4].choices[0].message.content);
    expect(answers.every((a) => a.usage?.completion_tokens === 300)).toBe(true);
  }, 60_000);
});
