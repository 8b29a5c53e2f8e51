import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

import { startApp, type RunningProcess } from '@tracetune/testing';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * Serving on webgpu (docs/gpu.md): a real inference process with TRACETUNE_BACKEND=webgpu (Mesa's lavapipe in CI,
 * tools/scripts/ensure-lavapipe.sh) runs one engine — one per GPU — on the webgpu backend, and answers through the api.
 */
describe('inference on the webgpu backend (official openai SDK, real inference process)', () => {
  let api: TestApi;
  let inference: RunningProcess;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tt-inf-webgpu-'));
    inference = await startApp(
      'inference',
      { TRACETUNE_DATA_DIR: dataDir, TRACETUNE_BACKEND: 'webgpu' },
      (h) => (h['details'] as { backend: string }).backend !== 'starting',
    );
    api = await startTestApi({ INFERENCE_URL: inference.url, TRACETUNE_DATA_DIR: dataDir });
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await inference?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('should run one engine on webgpu and answer chat completions, batched', async () => {
    const health = (await (await fetch(`${inference.url}/health`)).json()) as {
      details: { backend: string; engines: number };
    };
    expect(health.details).toMatchObject({ backend: 'webgpu', engines: 1 });
    const client: OpenAI = api.openai(api.adminKey);
    const ask = (content: string) =>
      client.chat.completions.create({
        model: 'tt-nano',
        messages: [{ role: 'user', content }],
        max_tokens: 6,
        seed: 1,
      });
    const completions = await Promise.all([ask('What is 2+2?'), ask('Name a colour.'), ask('Hi')]);
    for (const c of completions) {
      expect(c.choices[0].message.role).toBe('assistant');
      expect(c.usage?.completion_tokens).toBeGreaterThan(0);
      expect(c.usage?.completion_tokens).toBeLessThanOrEqual(6);
    }
  }, 180_000);
});
