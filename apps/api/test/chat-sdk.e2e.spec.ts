import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { startTestApi, type TestApi } from './api-test-app';
import { startApp, type RunningProcess } from './processes';

/**
 * The chat calls SDK users make beyond one question: the multi-turn loop that sends the SDK's own message objects
 * back, and the parameters Tracetune accepts without acting on. Real inference process, untrained built-in model.
 */
describe('chat with the SDK: echo and accepted parameters (official openai SDK, real inference)', () => {
  let api: TestApi;
  let inference: RunningProcess;
  let client: OpenAI;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tt-chat-sdk-'));
    inference = await startApp(
      'inference',
      { TRACETUNE_DATA_DIR: dataDir, TRACETUNE_BACKEND: 'wasm', TRACETUNE_INFERENCE_THREADS: '1' },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({ INFERENCE_URL: inference.url, TRACETUNE_DATA_DIR: dataDir });
    client = api.openai(api.adminKey);
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await inference?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const ask = { model: 'tt-nano', max_tokens: 4, seed: 3 } as const;

  it('should accept the returned assistant messages pushed back for three turns', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hi' }];
    const first = await client.chat.completions.create({ ...ask, messages });
    expect(first.choices[0].message).toMatchObject({ role: 'assistant', refusal: null, annotations: [] });
    messages.push(first.choices[0].message, { role: 'user', content: 'And?' });
    const second = await client.chat.completions.create({ ...ask, messages });
    messages.push(second.choices[0].message, { role: 'user', content: 'Bye' });
    // The streaming helper's final message is what a streaming loop pushes back.
    const third = await client.chat.completions.stream({ ...ask, messages }).finalMessage();
    messages.push(third, { role: 'user', content: 'Again' });
    const fourth = await client.chat.completions.create({ ...ask, messages });
    expect(fourth.choices[0].message.role).toBe('assistant');
    expect(messages.filter((m) => m.role === 'assistant')).toHaveLength(3);
  });

  it('should accept every field an SDK assistant message can carry', async () => {
    const echoed = {
      role: 'assistant',
      content: [
        { type: 'text', text: 'Sure.' },
        { type: 'refusal', refusal: 'Not that.' },
      ],
      refusal: null,
      annotations: [],
      audio: null,
      function_call: null,
      tool_calls: [],
      parsed: null,
    } as unknown as OpenAI.ChatCompletionAssistantMessageParam;
    const reply = await client.chat.completions.create({
      ...ask,
      messages: [{ role: 'user', content: 'Hi' }, echoed, { role: 'user', content: 'Ok' }],
    });
    expect(reply.choices).toHaveLength(1);
  });

  it('should refuse a field with a value Tracetune cannot honour, naming it', async () => {
    const bad = { role: 'assistant', content: 'x', audio: { id: 'audio_1' } } as const;
    await expect(
      client.chat.completions.create({ ...ask, messages: [{ role: 'user', content: 'Hi' }, bad] }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[1].audio' });
    await expect(
      client.chat.completions.create({
        ...ask,
        messages: [{ role: 'tool', content: 'x' } as OpenAI.ChatCompletionToolMessageParam],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'messages[0].tool_call_id' });
  });

  it('should answer store: true with a 400 naming store, and accept the ignored parameters', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Hi' }];
    await expect(client.chat.completions.create({ ...ask, messages, store: true })).rejects.toMatchObject({
      status: 400,
      param: 'store',
    });
    const ignored = await client.chat.completions.create({
      ...ask,
      messages,
      store: false,
      metadata: { team: 'a' },
      user: 'u-1',
      safety_identifier: 'hash-1',
      prompt_cache_key: 'k',
    });
    expect(ignored.choices).toHaveLength(1);
  });

  it('should refuse job integrations with a 400 naming the integration', async () => {
    await expect(
      client.fineTuning.jobs.create({
        model: 'tt-nano',
        training_file: 'file-none',
        integrations: [{ type: 'wandb', wandb: { project: 'p' } }],
      }),
    ).rejects.toMatchObject({ status: 400, param: 'integrations[0].type' });
  });

  describe('structured outputs', () => {
    const Person = z.object({
      name: z.string().max(8),
      age: z.number().int().min(0).max(120),
      role: z.enum(['admin', 'user']),
      tags: z.array(z.string().max(4)).max(2),
      nick: z.string().max(4).nullable(),
      address: z.object({ city: z.string().max(6), zip: z.number().int() }),
    });

    it('should return a parsed object from chat.completions.parse with a zod schema, from an untrained model', async () => {
      for (const seed of [1, 2]) {
        const completion = await client.chat.completions.parse({
          model: 'tt-nano',
          messages: [{ role: 'user', content: 'Describe a person.' }],
          response_format: zodResponseFormat(Person, 'person'),
          max_completion_tokens: 120,
          seed,
        });
        const message = completion.choices[0].message;
        expect(completion.choices[0].finish_reason).toBe('stop');
        expect(message.parsed).not.toBeNull();
        expect(Person.parse(message.parsed)).toEqual(message.parsed);
      }
    });

    it('should constrain a streamed json_schema response too', async () => {
      const stream = client.chat.completions.stream({
        model: 'tt-nano',
        messages: [{ role: 'user', content: 'A person?' }],
        response_format: zodResponseFormat(Person, 'person'),
        max_completion_tokens: 120,
        seed: 4,
      });
      const final = await stream.finalChatCompletion();
      expect(Person.parse(final.choices[0].message.parsed)).toBeTruthy();
    });

    it('should refuse unsupported schema keywords with a 400 naming them', async () => {
      await expect(
        client.chat.completions.parse({
          model: 'tt-nano',
          messages: [{ role: 'user', content: 'Hi' }],
          response_format: zodResponseFormat(z.object({ email: z.string().email() }), 'contact'),
        }),
      ).rejects.toMatchObject({
        status: 400,
        param: 'response_format.json_schema.schema.properties.email.format',
        code: 'unsupported_schema',
      });
      await expect(
        client.chat.completions.create({
          model: 'tt-nano',
          messages: [{ role: 'user', content: 'Hi' }],
          response_format: { type: 'json_schema', json_schema: { name: 'n', schema: { type: 'array' } } },
        }),
      ).rejects.toMatchObject({ status: 400, param: 'response_format.json_schema.schema.type' });
    });
  });
});
