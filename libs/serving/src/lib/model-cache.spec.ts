import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { inferenceBytes, setupBackend } from '@tracetune/model';

import { ModelCache } from './model-cache';

describe('ModelCache', () => {
  let dir: string;
  beforeAll(async () => {
    await setupBackend('wasm');
    dir = mkdtempSync(join(tmpdir(), 'tt-model-cache-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('should refuse a checkpoint too large for the wasm heap before reading any weight', async () => {
    // A 7B Llama's config.json and nothing else: loading its weights would fail differently ("no safetensors").
    mkdirSync(join(dir, 'big'), { recursive: true });
    writeFileSync(
      join(dir, 'big', 'config.json'),
      JSON.stringify({
        architectures: ['LlamaForCausalLM'],
        model_type: 'llama',
        vocab_size: 32000,
        hidden_size: 4096,
        intermediate_size: 11008,
        num_hidden_layers: 32,
        num_attention_heads: 32,
        num_key_value_heads: 32,
        rms_norm_eps: 1e-5,
        rope_theta: 10000,
        tie_word_embeddings: false,
      }),
    );
    const models = new ModelCache(dir, 64 * 2 ** 30, 0);
    await expect(models.acquire({ id: 'ft:big', builtin: null, artifactKey: 'big' })).rejects.toThrow(
      /needs ≈ \d+ MiB for its weights and inference copies, more than 75 % of the 4 GiB the wasm backend can hold per engine thread/,
    );
    expect(models.residentIds).toEqual([]);
  });

  it('should freeze a model for serving on wasm and count its packed weights and prefix cache', async () => {
    const models = new ModelCache(dir, 1 << 30, 1 << 20);
    const model = await models.acquire({ id: 'tt-nano', builtin: 'tt-nano', artifactKey: null });
    expect(model.model.frozenForServing).toBe(true);
    expect(model.bytes).toBe(inferenceBytes(model.model.config, { frozen: true }) + (1 << 20));
    models.release(model);
  });
});
