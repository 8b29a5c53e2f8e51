import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import OpenAI, { toFile } from 'openai';

import type { CreatedApiKey } from '@tracetune/contracts';
import {
  byteModelConfig,
  SafetensorsFile,
  saveCheckpoint,
  setupBackend,
  TransformerModel,
  type ModelConfig,
} from '@tracetune/model';
import { extractTar, tarHeader } from '@tracetune/storage';
import { queryDatabase } from '@tracetune/testing';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { startTestApi, type TestApi } from './api-test-app';

/** The Qwen2 differences from the byte-tokenizer Llama layout: biases on q/k/v and a smaller norm epsilon. */
const QWEN2 = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  rms_norm_eps: 1e-6,
  attention_bias: true,
} satisfies Partial<ModelConfig>;

/** A tiny Qwen2-style model (biases, tied head) on the byte tokenizer: ≈ 27k parameters, 110 kB in float32. */
function tinyConfig(hidden = 32, intermediate = 64): ModelConfig {
  return byteModelConfig({
    ...QWEN2,
    hidden_size: hidden,
    intermediate_size: intermediate,
  });
}

/** Every file under a folder, recursively (to prove nothing is left behind). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('model upload and download (POST /v1/models, GET /v1/models/{model}/content)', () => {
  let api: TestApi;
  let client: OpenAI;
  let work: string;
  let good: string;

  /** Saves a model folder, lets `spoil` change it, and tars it (`-C dir .`, or with a top folder). */
  function modelTar(
    name: string,
    spoil: (dir: string) => void = () => undefined,
    config = tinyConfig(),
  ): string {
    const dir = join(work, name, 'top');
    const model = TransformerModel.random(config, 7);
    saveCheckpoint(model, new ByteTokenizer(), dir);
    model.dispose();
    spoil(dir);
    const tar = join(work, `${name}.tar.gz`);
    execFileSync('tar', ['-czf', tar, '-C', join(work, name), 'top']);
    return tar;
  }

  async function upload(tar: string | Buffer, fields: Record<string, string> = {}, key = api.adminKey) {
    const form = new FormData();
    const bytes = typeof tar === 'string' ? readFileSync(tar) : tar;
    form.append('file', await toFile(bytes, 'model.tar.gz'));
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    return api.openai(key).post<{ id: string; kind: string; source: string; owned_by: string }>('/models', {
      body: form,
    });
  }

  async function download(id: string, dtype?: string): Promise<string> {
    const response = await client.get(`/models/${encodeURIComponent(id)}/content`, {
      query: dtype ? { dtype } : {},
      __binaryResponse: true,
    } as never);
    const out = await mkdtemp(join(work, 'dl-'));
    await extractTar(Readable.fromWeb((response as unknown as Response).body as never), out, 1e9);
    return out;
  }

  async function modelRows(): Promise<number> {
    const rows = await queryDatabase<{ n: string }>(api.db.url, 'SELECT count(*)::text AS n FROM models');
    return Number(rows[0].n);
  }

  beforeAll(async () => {
    await setupBackend('cpu');
    work = await mkdtemp(join(tmpdir(), 'tt-model-io-'));
    api = await startTestApi({ TRACETUNE_ACCELERATOR_MEMORY_MB: '1', TRACETUNE_TRAINING_MEMORY_MB: '1' });
    client = api.openai(api.adminKey);
    good = modelTar('good');
  }, 120_000);
  afterAll(async () => {
    await api?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('should import an uploaded .tar.gz for the caller organization only, and download it back exactly', async () => {
    const model = await upload(good, { suffix: 'tiny' });
    expect(model).toMatchObject({ kind: 'base', source: 'imported', owned_by: 'org-default' });
    expect(model.id).toMatch(/^org-default\/tiny-[A-Za-z0-9]{8}$/);
    expect((await client.models.list()).data.map((m) => m.id)).toContain(model.id);
    const other = await api.root(api.adminKey).post<CreatedApiKey>('/admin/api-keys', {
      body: { name: 'b', role: 'member', organization_id: 'org-b' },
    });
    const theirs = api.openai(other.key);
    expect((await theirs.models.list()).data.map((m) => m.id)).not.toContain(model.id);
    await expect(theirs.models.retrieve(model.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(
      theirs.get(`/models/${encodeURIComponent(model.id)}/content`, { __binaryResponse: true } as never),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const out = await download(model.id);
    const original = new SafetensorsFile(join(work, 'good', 'top', 'model.safetensors'));
    const copy = new SafetensorsFile(join(out, 'model.safetensors'));
    expect([...copy.tensors.keys()].sort()).toEqual([...original.tensors.keys()].sort());
    for (const name of original.tensors.keys()) {
      expect(copy.tensors.get(name)?.dtype).toBe('F32');
      expect(copy.read(name).data).toEqual(original.read(name).data);
    }
    [original, copy].forEach((f) => f.close());
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({
      architectures: ['Qwen2ForCausalLM'],
      hidden_size: 32,
      torch_dtype: 'float32',
    });
    const tokenizerConfig = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')) as {
      chat_template: string;
    };
    expect(tokenizerConfig.chat_template).toContain('<|im_start|>');
    expect((await readdir(out)).sort()).toEqual([
      'config.json',
      'generation_config.json',
      'model.safetensors',
      'tokenizer.json',
      'tokenizer_config.json',
    ]);

    const half = new SafetensorsFile(join(await download(model.id, 'bfloat16'), 'model.safetensors'));
    expect(half.tensors.get('model.norm.weight')?.dtype).toBe('BF16');
    half.close();
  });

  it('should refuse downloads of shared base models and bad dtypes', async () => {
    await expect(
      client.get('/models/tt-nano/content', { __binaryResponse: true } as never),
    ).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const bad = await fetch(`${api.url}/v1/models/tt-nano/content?dtype=int8`, {
      headers: { authorization: `Bearer ${api.adminKey}` },
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { param: string } }).error.param).toBe('dtype');
  });

  const rawTar = (header: Buffer) => Buffer.concat([header, Buffer.alloc(1024)]);
  const bad: [string, () => string | Buffer, RegExp, number?][] = [
    [
      'no config.json',
      () => modelTar('noconfig', (d) => execFileSync('rm', [join(d, 'config.json')])),
      /config\.json/,
    ],
    [
      'an unknown architecture',
      () =>
        modelTar('arch', (d) => {
          const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
          writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, architectures: ['GPT2LMHeadModel'] }));
        }),
      /GPT2LMHeadModel/,
    ],
    [
      'quantised weights',
      () =>
        modelTar('quant', (d) => {
          const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
          writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, quantization_config: { bits: 4 } }));
        }),
      /quantization_config/,
    ],
    [
      'shapes that disagree with the config',
      () =>
        modelTar('shapes', (d) => {
          const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
          writeFileSync(join(d, 'config.json'), JSON.stringify({ ...c, intermediate_size: 96 }));
        }),
      /mlp\.\w+_proj\.weight" has shape/,
    ],
    [
      'a truncated safetensors file',
      () =>
        modelTar('truncated', (d) => {
          const path = join(d, 'model.safetensors');
          writeFileSync(path, readFileSync(path).subarray(0, 5000));
        }),
      /truncated/,
    ],
    [
      'a safetensors header larger than the file',
      () =>
        modelTar('header', (d) => {
          const path = join(d, 'model.safetensors');
          const bytes = readFileSync(path);
          bytes.writeBigUInt64LE(BigInt(bytes.length * 2), 0);
          writeFileSync(path, bytes);
        }),
      /header length/,
    ],
    ['a ../ path', () => rawTar(tarHeader('../escape/config.json', 0)), /unsafe path/],
    [
      'a symbolic link',
      () => {
        const dir = join(work, 'link');
        mkdirSync(dir, { recursive: true });
        symlinkSync('/etc/passwd', join(dir, 'config.json'));
        execFileSync('tar', ['-cf', join(work, 'link.tar'), '-C', dir, 'config.json']);
        return join(work, 'link.tar');
      },
      /symbolic link/,
    ],
    [
      'a model over the memory budget',
      () => modelTar('big', () => undefined, tinyConfig(256, 512)),
      /memory budget of 1 MiB/,
    ],
  ];

  it.each(bad)(
    'should refuse %s with 400 naming file, leaving nothing behind',
    async (_what, build, message) => {
      const archive = build();
      const rows = await modelRows();
      const stored = (await filesUnder(api.dataDir)).length;
      const error = (await upload(archive).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect(error.param).toBe('file');
      expect(error.message).toMatch(message);
      expect(error.message).not.toContain(api.dataDir);
      expect(await modelRows()).toBe(rows);
      expect((await filesUnder(api.dataDir)).length).toBe(stored);
    },
  );

  it('should keep a chat template given at import, and refuse one that does not render naming chat_template', async () => {
    const template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}\n{% endfor %}";
    const model = await upload(good, { chat_template: template });
    const out = await download(model.id);
    const config = JSON.parse(readFileSync(join(out, 'tokenizer_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(config['chat_template']).toBe(template);
    const rows = await modelRows();
    const error = (await upload(good, { chat_template: '{{ messages[ }}' }).catch(
      (e: unknown) => e,
    )) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('chat_template');
    expect(await modelRows()).toBe(rows);
  });

  it('should keep nothing when an upload is cut off mid-way', async () => {
    const rows = await modelRows();
    const stored = (await filesUnder(api.dataDir)).length;
    const boundary = 'tracetuneboundary';
    await new Promise<void>((resolve) => {
      const req = httpRequest(`${api.url}/v1/models`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${api.adminKey}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': String(10_000_000),
        },
      });
      req.on('error', () => resolve());
      req.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="m.tar"\r\n\r\n`);
      req.write(readFileSync(good).subarray(0, 20_000));
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(await modelRows()).toBe(rows);
    expect((await filesUnder(api.dataDir)).length).toBe(stored);
  });

  it('should refuse at job creation a model whose training would not fit the memory budget, with the numbers', async () => {
    const line = JSON.stringify({ messages: [{ role: 'user', content: '1+1=' }], answer: '2' });
    const file = await client.files.create({
      file: await toFile(Buffer.from(`${line}\n${line}\n`), 'rft.jsonl'),
      purpose: 'fine-tune',
    });
    const error = (await client.fineTuning.jobs
      .create({
        model: 'tt-nano',
        training_file: file.id,
        method: {
          type: 'reinforcement',
          reinforcement: {
            grader: {
              type: 'string_check',
              name: 'x',
              input: '{{sample.output_text}}',
              reference: '{{item.answer}}',
              operation: 'eq',
            },
          },
        },
      })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect(error.param).toBe('model');
    expect(error.code).toBe('model_too_large');
    expect(error.message).toMatch(
      /431,424 parameters need at least 7 MiB .* over the 1 MiB of TRACETUNE_TRAINING_MEMORY_MB/,
    );
  });
});
