import { setupBackend } from '@tracetune/model';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelCache } from './model-cache';
import type { FromEngine, GenerationRequest } from './protocol';
import { Scheduler } from './scheduler';

const MODEL = { id: 'tt-nano', builtin: 'tt-nano', artifactKey: null };

/** Runs requests concurrently through a scheduler over `models`; returns each request's text in submission order. */
async function generateAll(models: ModelCache, requests: GenerationRequest[]): Promise<string[]> {
  const texts = new Map<string, string>();
  const pending = new Map<string, (error?: Error) => void>();
  const scheduler = new Scheduler(models, (m: FromEngine) => {
    if (m.type === 'delta') texts.set(m.id, (texts.get(m.id) ?? '') + m.text);
    if (m.type === 'done') pending.get(m.id)?.();
    if (m.type === 'error') pending.get(m.id)?.(new Error(m.message));
  });
  await Promise.all(
    requests.map(
      (r) =>
        new Promise<void>((resolve, reject) => {
          pending.set(r.id, (error) => (error ? reject(error) : resolve()));
          void scheduler.submit(r);
        }),
    ),
  );
  return requests.map((r) => texts.get(r.id) ?? '');
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
    prompts: [{ kind: 'chat', messages: [{ role: 'system', content: 'You are a terse assistant. Answer in one line.' }, { role: 'user', content }] }],
    n: 1,
    maxTokens: 24,
    temperature: 0,
    topP: 1,
    seed: 1,
    stop: [],
    logprobs: false,
    topLogprobs: 0,
    json: false,
    promptParam: 'messages',
  });

  it('should compute a shared system prompt once and answer exactly as without the prefix cache', async () => {
    const first = request('a', 'What is 2+2?');
    const later = [request('b', 'Name a colour.'), request('c', 'Count to three.'), request('d', 'What is 2+3?')];
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
});
