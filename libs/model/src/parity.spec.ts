import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { useBackend } from '../test/helpers';
import { loadCheckpoint } from './checkpoint';
import { configFromHf, contextLength } from './config';
import { SafetensorsFile } from './safetensors';
import { generate } from './sampler';

/**
 * Parity with Hugging Face transformers (docs/model.md). tools/parity/make_fixtures.py builds the models of
 * tools/parity/manifest.json with transformers and records their logits and greedy continuations under
 * tools/parity/fixtures/<name>/<dtype>/; here each folder is loaded through Tracetune's import path
 * (`loadCheckpoint`: config.json, safetensors, tokenizer.json) and must compute the same. When the fixtures folder
 * exists it must hold exactly the manifest's folders, each complete: a missing or extra folder fails.
 */
const PARITY = join(__dirname, '..', '..', '..', 'tools', 'parity');
const FIXTURES = join(PARITY, 'fixtures');

interface Manifest {
  prompt: string;
  new_tokens: number;
  dtypes: string[];
  relative_tolerance: number;
  vocab_size: number;
  fixtures: { name: string; config: Record<string, unknown> }[];
}
interface Expected {
  prompt: string;
  input_ids: number[];
  greedy: number[];
  greedy_margins: number[];
}

const manifest = JSON.parse(readFileSync(join(PARITY, 'manifest.json'), 'utf8')) as Manifest;
const folders = manifest.fixtures.flatMap((f) => manifest.dtypes.map((dtype) => `${f.name}/${dtype}`));

describe('parity manifest (what make_fixtures.py builds)', () => {
  it('should list distinct models, every config accepted by the import path', () => {
    const names = manifest.fixtures.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    expect(manifest.dtypes).toEqual(['float32', 'bfloat16']);
    for (const { name, config } of manifest.fixtures) {
      expect(() => configFromHf({ ...config, vocab_size: manifest.vocab_size })).not.toThrow();
      expect(name).toMatch(/^[a-z0-9.-]+$/);
    }
  });

  it('should cover Llama, Llama 3.x rope scaling, Qwen2 (tied), Qwen2.5 yarn, Qwen3, Mistral and SmolLM2', () => {
    const parsed = manifest.fixtures.map((f) =>
      configFromHf({ ...f.config, vocab_size: manifest.vocab_size }),
    );
    expect(parsed.some((c) => c.rope_scaling?.rope_type === 'llama3')).toBe(true);
    expect(parsed.some((c) => c.model_type === 'qwen2' && c.rope_scaling?.rope_type === 'yarn')).toBe(true);
    expect(parsed.some((c) => c.model_type === 'qwen2' && c.tie_word_embeddings && !c.rope_scaling)).toBe(
      true,
    );
    expect(parsed.some((c) => c.qk_norm && c.head_dim * c.num_attention_heads !== c.hidden_size)).toBe(true);
    const mistral = parsed.find((c) => c.architectures[0] === 'MistralForCausalLM');
    expect(mistral && contextLength(mistral)).toBeLessThan(mistral?.max_position_embeddings ?? 0);
    expect(parsed.every((c) => c.hidden_size <= 64 && c.num_hidden_layers === 2)).toBe(true);
    expect(readFileSync(join(PARITY, 'make_fixtures.py'), 'utf8')).toContain('manifest.json');
  });

  it('should find exactly the manifest folders when tools/parity/fixtures exists (absent until a GPU machine runs the script)', () => {
    if (!existsSync(FIXTURES)) {
      expect(folders.length).toBe(manifest.fixtures.length * 2);
      return;
    }
    const found = readdirSync(FIXTURES).flatMap((name) =>
      readdirSync(join(FIXTURES, name)).map((dtype) => `${name}/${dtype}`),
    );
    expect(found.sort()).toEqual([...folders].sort());
  });
});

const present = existsSync(FIXTURES) ? folders : [];

// No fixtures yet: the manifest's specs above are the whole suite (jest refuses a describe block without tests).
const fixtureSuite = (): void =>
  describe('parity with transformers over every committed fixture', () => {
    beforeAll(() => useBackend('cpu'));

    for (const folder of present) {
      it(`${folder}: same token ids, logits (relative 1e-4) and greedy continuation`, () => {
        const dir = join(FIXTURES, folder);
        const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as Expected;
        const { model, tokenizer } = loadCheckpoint(dir);
        try {
          expect(tokenizer.encode(expected.prompt, { addSpecialTokens: false })).toEqual(expected.input_ids);
          const reference = new SafetensorsFile(join(dir, 'logits.safetensors'));
          const want = reference.read('logits');
          reference.close();
          const logits = model.logits([expected.input_ids]);
          const got = logits.dataSync() as Float32Array;
          logits.dispose();
          expect(got.length).toBe(want.data.length);
          let scale = 0;
          let diff = 0;
          for (let i = 0; i < got.length; i++) {
            scale = Math.max(scale, Math.abs(want.data[i]));
            diff = Math.max(diff, Math.abs(got[i] - want.data[i]));
          }
          expect(diff / scale).toBeLessThanOrEqual(manifest.relative_tolerance);
          const [completion] = generate(model, [expected.input_ids], {
            maxNewTokens: manifest.new_tokens,
            temperature: 0,
            stopTokenIds: [],
          });
          expect(completion.tokens).toEqual(expected.greedy);
        } finally {
          model.dispose();
        }
      });
    }
  });

if (present.length > 0) fixtureSuite();
