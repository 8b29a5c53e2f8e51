import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { builtinConfig, setupBackend, slotCacheBytes } from '@tracetune/model';

import { ModelCache } from './model-cache';
import type { GenerationEvent, GenerationRequest } from './request';
import { Scheduler, type SchedulerOptions } from './scheduler';

const MODEL = { id: 'tt-nano', builtin: 'tt-nano', artifactKey: null };

/**
 * Runs requests concurrently through a scheduler over `models`; returns each request's text in submission order, the
 * most requests that were streaming (first delta seen, not done) at once and the longest prompt in tokens.
 */
async function generateAll(
  models: ModelCache,
  requests: GenerationRequest[],
  options: SchedulerOptions = {},
): Promise<string[]> {
  return (await generateWithStats(models, requests, options)).texts;
}

async function generateWithStats(
  models: ModelCache,
  requests: GenerationRequest[],
  options: SchedulerOptions = {},
): Promise<{ texts: string[]; mostAtOnce: number; longestPrompt: number }> {
  const texts = new Map<string, string>();
  let longestPrompt = 0;
  const pending = new Map<string, (error?: Error) => void>();
  const streaming = new Set<string>();
  let mostAtOnce = 0;
  const scheduler = new Scheduler(
    models,
    (m: GenerationEvent) => {
      if (m.type === 'accepted') longestPrompt = Math.max(longestPrompt, m.promptTokens);
      if (m.type === 'delta') {
        texts.set(m.id, (texts.get(m.id) ?? '') + m.text);
        streaming.add(m.id);
        mostAtOnce = Math.max(mostAtOnce, streaming.size);
      }
      if (m.type === 'done') {
        streaming.delete(m.id);
        pending.get(m.id)?.();
      }
      if (m.type === 'error') pending.get(m.id)?.(new Error(m.message));
    },
    options,
  );
  await Promise.all(
    requests.map(
      (r) =>
        new Promise<void>((resolve, reject) => {
          pending.set(r.id, (error) => (error ? reject(error) : resolve()));
          void scheduler.submit(r);
        }),
    ),
  );
  return { texts: requests.map((r) => texts.get(r.id) ?? ''), mostAtOnce, longestPrompt };
}

describe('Scheduler', () => {
  let dir: string;
  beforeAll(async () => {
    await setupBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'tt-scheduler-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const request = (id: string, content: string): GenerationRequest => ({
    id,
    model: MODEL,
    prompts: [
      {
        kind: 'chat',
        messages: [
          { role: 'system', content: 'You are a terse assistant. Answer in one line.' },
          { role: 'user', content },
        ],
      },
    ],
    n: 1,
    maxTokens: 24,
    temperature: 0,
    topP: 1,
    seed: 1,
    stop: [],
    logprobs: false,
    topLogprobs: 0,
    format: { type: 'text' },
    promptParam: 'messages',
  });

  it.each([
    ['a budget past the context', 'hi', { maxTokens: 1e9, maxTokensParam: 'max_tokens' }, 'max_tokens'],
    [
      'a prompt past the context',
      'x'.repeat(600),
      { maxTokens: 8, maxTokensParam: 'max_tokens' },
      'messages',
    ],
    ['a defaulted budget past the context', 'hi', { maxTokens: 1e9 }, 'messages'],
  ])('should name the parameter at fault for %s', async (_name, content, budget, param) => {
    const errors: GenerationEvent[] = [];
    const scheduler = new Scheduler(new ModelCache(dir, 1 << 30, 0), (m) => {
      if (m.type === 'error') errors.push(m);
    });
    await scheduler.submit({ ...request('ctx', content), ...budget });
    expect(errors).toEqual([
      expect.objectContaining({ status: 400, code: 'context_length_exceeded', param }),
    ]);
  });

  it('should compute a shared system prompt once and answer exactly as without the prefix cache', async () => {
    const first = request('a', 'What is 2+2?');
    const later = [
      request('b', 'Name a colour.'),
      request('c', 'Count to three.'),
      request('d', 'What is 2+3?'),
    ];
    const cold = await generateAll(new ModelCache(dir, 1 << 30, 0), [first, ...later]);

    const models = new ModelCache(dir, 1 << 30, 64 << 20);
    await generateAll(models, [first]); // its prompt goes into the model's prefix cache
    const model = await models.acquire(MODEL);
    models.release(model);
    expect(model.prefixes.stats).toMatchObject({ entries: 1, hits: 0, misses: 1 });

    // Greedy decoding: the same text whether the template and system prompt were computed again or reused.
    expect(await generateAll(models, later)).toEqual(cold.slice(1));
    expect(model.prefixes.stats.hits).toBe(3);
    expect(model.prefixes.stats.reusedTokens).toBeGreaterThanOrEqual(3 * 40); // ≥ 40 shared byte tokens each
  });
  it('should queue requests beyond the KV budget and answer each as it would alone', async () => {
    const questions = [
      'Name a colour.',
      'Count to three.',
      'What is 2+3?',
      'Say hi.',
      'Name a fruit.',
      'Spell cat.',
    ];
    const requests = questions.map((q, i) => request(`kv${i}`, q));
    const models = new ModelCache(dir, 1 << 30, 0);
    const unbounded = await generateWithStats(models, requests);
    expect(unbounded.mostAtOnce).toBe(6);
    // Room for the slot cache at 4 rows (its first capacity) of the longest sequence; a fifth row would double it.
    const config = builtinConfig('tt-nano');
    const longest = unbounded.longestPrompt + 24;
    const four = slotCacheBytes(config, 4, longest);
    expect(slotCacheBytes(config, 5, longest)).toBe(2 * four);
    const bounded = await generateWithStats(models, requests, { kvBudgetBytes: four });
    expect(bounded.mostAtOnce).toBe(4);
    expect(bounded.texts).toEqual(unbounded.texts); // greedy: batching does not change an answer
    // A budget below one sequence still runs them, one at a time.
    const single = await generateWithStats(models, requests, { kvBudgetBytes: 1 });
    expect(single.mostAtOnce).toBe(1);
    expect(single.texts).toEqual(unbounded.texts);
  });
});
