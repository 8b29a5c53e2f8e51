import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import OpenAI, { toFile } from 'openai';

import {
  byteModelConfig,
  loadCheckpoint,
  loadPeftAdapter,
  saveCheckpoint,
  setupBackend,
  TransformerModel,
  type ModelConfig,
} from '@tracetune/model';
import { extractTar, folderTarEntries, tarStream } from '@tracetune/storage';
import { mathLine, startApp, type RunningProcess } from '@tracetune/testing';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { startTestApi, type TestApi } from './api-test-app';

/**
 * The life of a user's own model, end to end with real processes: upload a Hugging Face folder as a tar through the
 * API, train 2 steps of LoRA GRPO-λ on it on a real worker, download the result (merged weights + PEFT adapter), and
 * read the download back through the import path: the same logits as the trained model, and the adapter applied to
 * the uploaded base gives them too.
 */
/** The Qwen2 differences from the byte-tokenizer Llama layout: biases on q/k/v and a smaller norm epsilon. */
const QWEN2 = {
  architectures: ['Qwen2ForCausalLM'],
  model_type: 'qwen2',
  rms_norm_eps: 1e-6,
  attention_bias: true,
} satisfies Partial<ModelConfig>;

const tinyQwen2: ModelConfig = byteModelConfig(QWEN2);

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}

async function logitsOf(model: TransformerModel, ids: number[]): Promise<Float32Array> {
  const t = model.logits([ids]);
  const out = (await t.data()) as Float32Array;
  t.dispose();
  return out;
}

describe('own model round trip: upload tar → LoRA GRPO-λ on a worker → download → import', () => {
  let api: TestApi;
  let worker: RunningProcess;
  let client: OpenAI;
  let work: string;

  beforeAll(async () => {
    await setupBackend('cpu');
    work = await mkdtemp(join(tmpdir(), 'tt-roundtrip-'));
    const dataDir = await mkdtemp(join(tmpdir(), 'tt-roundtrip-data-'));
    api = await startTestApi({ TRACETUNE_DATA_DIR: dataDir });
    worker = await startApp('worker', {
      DATABASE_URL: api.db.url,
      TRACETUNE_QUEUE_PREFIX: `test_${api.db.name}`,
      TRACETUNE_DATA_DIR: dataDir,
      TRACETUNE_BACKEND: 'wasm',
      TRACETUNE_WORKER_ID: 'roundtrip',
    });
    client = api.openai(api.adminKey);
  }, 120_000);
  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await api?.close();
    await rm(work, { recursive: true, force: true });
  });

  async function uploadFolder(dir: string, suffix: string): Promise<string> {
    const form = new FormData();
    form.append('file', await toFile(await collect(tarStream(await folderTarEntries(dir))), 'model.tar'));
    form.append('suffix', suffix);
    return (await client.post<{ id: string }>('/models', { body: form })).id;
  }

  async function download(id: string, name: string): Promise<string> {
    const response = (await client.get(`/models/${encodeURIComponent(id)}/content`, {
      __binaryResponse: true,
    } as never)) as unknown as Response;
    const out = join(work, name);
    await rm(out, { recursive: true, force: true });
    await mkdir(out);
    await extractTar(Readable.fromWeb(response.body as never), out, 1e9);
    return out;
  }

  it('should train LoRA on an uploaded model and give the same logits from the download, re-imported', async () => {
    const base = TransformerModel.random(tinyQwen2, 5);
    saveCheckpoint(base, new ByteTokenizer(), join(work, 'base'));
    base.dispose();
    const baseId = await uploadFolder(join(work, 'base'), 'mine');
    const file = await client.files.create({
      file: await toFile(
        Buffer.from([mathLine(1, 2), mathLine(3, 4), mathLine(5, 6), mathLine(2, 2)].join('\n')),
        'rft.jsonl',
      ),
      purpose: 'fine-tune',
    });
    const created = await client.fineTuning.jobs.create({
      model: baseId,
      training_file: file.id,
      seed: 3,
      method: {
        type: 'reinforcement',
        reinforcement: {
          // A graded similarity, so that a random model's completions get different rewards (non-zero advantages).
          grader: {
            type: 'text_similarity',
            name: 'sim',
            input: '{{sample.output_text}}',
            reference: '{{item.answer}} is the answer',
            evaluation_metric: 'fuzzy_match',
          },
          hyperparameters: { batch_size: 2, n_epochs: 1 },
          algorithm: { name: 'grpo_lambda', num_generations: 2, max_completion_tokens: 8, beta: 0 },
          lora: { rank: 2, alpha: 4, dropout: 0, target_modules: ['q_proj', 'v_proj'] },
        },
      },
    } as unknown as OpenAI.FineTuning.JobCreateParams);
    let job = await client.fineTuning.jobs.retrieve(created.id);
    for (let i = 0; i < 600 && !['succeeded', 'failed', 'cancelled'].includes(job.status); i++) {
      await new Promise((r) => setTimeout(r, 250));
      job = await client.fineTuning.jobs.retrieve(created.id);
    }
    expect(job.error).toBeNull();
    expect(job.status).toBe('succeeded');
    const tuned = job.fine_tuned_model as string;

    const downloaded = await download(tuned, 'tuned');
    expect(existsSync(join(downloaded, 'optimizer.safetensors'))).toBe(false);
    expect(existsSync(join(downloaded, 'adapter_model.safetensors'))).toBe(false);
    const peftConfig = JSON.parse(
      readFileSync(join(downloaded, 'adapter', 'adapter_config.json'), 'utf8'),
    ) as {
      base_model_name_or_path: string;
    };
    expect(peftConfig).toMatchObject({
      peft_type: 'LORA',
      r: 2,
      lora_alpha: 4,
      base_model_name_or_path: baseId,
    });

    const reimportedId = await uploadFolder(downloaded, 'again');
    const again = await download(reimportedId, 'again');
    const ids = [256, ...Buffer.from('3+4=7')];
    const trained = loadCheckpoint(downloaded).model;
    const reimported = loadCheckpoint(again).model;
    const expected = await logitsOf(trained, ids);
    expect(await logitsOf(reimported, ids)).toEqual(expected);

    const adapted = loadCheckpoint(join(work, 'base')).model;
    const before = await logitsOf(adapted, ids);
    adapted.addLora({ rank: 2, alpha: 4, dropout: 0, targets: ['q_proj', 'v_proj'] }, 0);
    loadPeftAdapter(adapted, join(downloaded, 'adapter'));
    const viaAdapter = await logitsOf(adapted, ids);
    let diff = 0;
    let moved = 0;
    for (let i = 0; i < expected.length; i++) {
      diff = Math.max(diff, Math.abs(viaAdapter[i] - expected[i]));
      moved = Math.max(moved, Math.abs(before[i] - expected[i]));
    }
    expect(diff).toBeLessThan(1e-5);
    expect(moved).toBeGreaterThan(1e-6); // the two steps changed the model
    [trained, reimported, adapted].forEach((m) => m.dispose());
  }, 240_000);
});
