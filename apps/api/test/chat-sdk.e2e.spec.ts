import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

import { startApp, type RunningProcess } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

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

  describe('tools', () => {
    const Weather = z.object({ city: z.string().max(6), unit: z.enum(['c', 'f']) });
    const Add = z.object({ a: z.number().int().min(0).max(99), b: z.number().int().min(0).max(99) });
    const tools = [
      zodFunction({ name: 'get_weather', parameters: Weather }),
      zodFunction({ name: 'add', parameters: Add }),
    ];
    // tt-micro: the tool list needs more context than tt-nano's 512 byte tokens.
    const base = { model: 'tt-micro', max_completion_tokens: 110, seed: 7 } as const;
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Oslo?' }];

    it('should force a named function, its arguments matching the schema, and accept the tool result back', async () => {
      const completion = await client.chat.completions.parse({
        ...base,
        messages,
        tools,
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
      const choice = completion.choices[0];
      expect(choice.finish_reason).toBe('tool_calls');
      expect(choice.message.content).toBeNull();
      const call = choice.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
      expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^call_/) });
      expect(call.function.name).toBe('get_weather');
      expect(Weather.parse(JSON.parse(call.function.arguments))).toBeTruthy();
      const next = await client.chat.completions.create({
        ...base,
        tools,
        messages: [...messages, choice.message, { role: 'tool', tool_call_id: call.id, content: '12 C' }],
      });
      expect(next.choices).toHaveLength(1);
    });

    it('should call one of the tools with tool_choice required, and none with tool_choice none', async () => {
      const required = await client.chat.completions.create({
        ...base,
        messages,
        tools,
        tool_choice: 'required',
      });
      const call = required.choices[0].message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
      const schema = call.function.name === 'add' ? Add : Weather;
      expect(schema.parse(JSON.parse(call.function.arguments))).toBeTruthy();
      const none = await client.chat.completions.create({ ...base, messages, tools, tool_choice: 'none' });
      expect(none.choices[0].message.tool_calls).toBeUndefined();
      expect(typeof none.choices[0].message.content).toBe('string');
      const auto = await client.chat.completions.create({ ...base, messages, tools });
      expect(['stop', 'length', 'tool_calls']).toContain(auto.choices[0].finish_reason);
    });

    it('should stream a tool call as OpenAI does: id and name first, then the arguments', async () => {
      const stream = await client.chat.completions.create({
        ...base,
        messages,
        tools,
        tool_choice: { type: 'function', function: { name: 'add' } },
        stream: true,
      });
      const deltas: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
      let finish: string | null = null;
      for await (const chunk of stream) {
        for (const c of chunk.choices) {
          deltas.push(...(c.delta.tool_calls ?? []));
          finish = c.finish_reason ?? finish;
        }
      }
      expect(finish).toBe('tool_calls');
      expect(deltas[0]).toMatchObject({
        index: 0,
        id: expect.any(String),
        type: 'function',
        function: { name: 'add' },
      });
      const args = deltas.map((d) => d.function?.arguments ?? '').join('');
      expect(Add.parse(JSON.parse(args))).toBeTruthy();
    });

    it('should run a runTools loop with two tools to its end', async () => {
      const calls: string[] = [];
      const runTools = (toolChoice: OpenAI.ChatCompletionToolChoiceOption, maxChatCompletions?: number) =>
        client.chat.completions.runTools(
          {
            ...base,
            messages,
            tool_choice: toolChoice,
            tools: [
              zodFunction({
                name: 'get_weather',
                parameters: Weather,
                function: (args) => {
                  calls.push(`get_weather(${args.city},${args.unit})`);
                  return { temperature: 12 };
                },
              }),
              zodFunction({
                name: 'add',
                parameters: Add,
                function: (args) => {
                  calls.push(`add(${args.a},${args.b})`);
                  return args.a + args.b;
                },
              }),
            ],
          },
          { maxChatCompletions },
        );
      // A named function ends the loop once it has been called; `required` calls a tool on every round.
      const named = runTools({ type: 'function', function: { name: 'add' } });
      expect(await named.finalFunctionToolCallResult()).toMatch(/^\d+$/);
      const required = runTools('required', 2);
      await required.done();
      expect(calls).toHaveLength(3);
      expect(calls[0]).toMatch(/^add\(/);
      const sent = required.messages.filter((m) => m.role === 'tool');
      expect(sent).toHaveLength(2);
    });

    it('should refuse unsupported parameter schemas and unknown named functions, naming them', async () => {
      await expect(
        client.chat.completions.create({
          ...base,
          messages,
          tools: [
            {
              type: 'function',
              function: {
                name: 'f',
                parameters: { type: 'object', properties: { e: { type: 'string', format: 'email' } } },
              },
            },
          ],
        }),
      ).rejects.toMatchObject({ status: 400, param: 'tools[0].function.parameters.properties.e.format' });
      await expect(
        client.chat.completions.create({
          ...base,
          messages,
          tools,
          tool_choice: { type: 'function', function: { name: 'nope' } },
        }),
      ).rejects.toMatchObject({ status: 400, param: 'tool_choice.function.name' });
    });
  });
});
