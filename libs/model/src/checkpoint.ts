import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ByteTokenizer, loadTokenizer, saveTokenizer, type Tokenizer } from '@tracetune/tokenizer';

import { configFromHf, configToHf, type ModelConfig } from './config';
import { TransformerModel } from './model';
import { SafetensorsFile, writeSafetensors } from './safetensors';
import { tensorSpecs, transpose2d } from './weights';

export interface GenerationConfig {
  bos_token_id?: number | null;
  eos_token_id?: number | number[] | null;
  pad_token_id?: number | null;
  [key: string]: unknown;
}

export interface LoadedCheckpoint {
  model: TransformerModel;
  tokenizer: Tokenizer;
  generationConfig: GenerationConfig;
}

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`Cannot read ${path}: ${(e as Error).message}`);
  }
}

function idList(v: unknown): number[] {
  if (typeof v === 'number') return [v];
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

/** Opens every safetensors file of a checkpoint: `model.safetensors`, or the shards named by the index. */
function openWeights(dir: string): { lookup: Map<string, SafetensorsFile>; files: SafetensorsFile[] } {
  const indexPath = join(dir, 'model.safetensors.index.json');
  let names: string[];
  if (existsSync(indexPath)) {
    const weightMap = (readJson(indexPath)['weight_map'] ?? {}) as Record<string, string>;
    names = [...new Set(Object.values(weightMap))];
  } else if (existsSync(join(dir, 'model.safetensors'))) {
    names = ['model.safetensors'];
  } else {
    const any = readdirSync(dir).filter((f) => f.endsWith('.safetensors'));
    if (any.length === 0) throw new Error(`No model.safetensors (or model.safetensors.index.json) in ${dir}`);
    names = any.sort();
  }
  const files: SafetensorsFile[] = [];
  const lookup = new Map<string, SafetensorsFile>();
  try {
    for (const n of names) {
      const f = new SafetensorsFile(join(dir, n));
      files.push(f);
      for (const t of f.tensors.keys()) lookup.set(t, f);
    }
  } catch (e) {
    files.forEach((f) => f.close());
    throw e;
  }
  return { lookup, files };
}

/** The model config of an HF-layout checkpoint directory (its `config.json`), without reading any weights. */
export function checkpointConfig(dir: string): ModelConfig {
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new Error(`No config.json in ${dir}`);
  try {
    return configFromHf(readJson(configPath));
  } catch (e) {
    throw new Error(`${configPath}: ${(e as Error).message}`);
  }
}

/**
 * Loads an HF-layout checkpoint directory (Llama / Qwen2 / Qwen3 causal LM): `config.json`, `model.safetensors` or
 * sharded `*.safetensors` + `model.safetensors.index.json` (F32, F16, BF16, F64 → float32), `tokenizer.json` +
 * `tokenizer_config.json`, `generation_config.json`. Tensors are read one at a time through file handles. Errors name
 * the file and tensor at fault.
 */
export function loadCheckpoint(dir: string, options: { seed?: number } = {}): LoadedCheckpoint {
  const config = checkpointConfig(dir);
  const genPath = join(dir, 'generation_config.json');
  const generationConfig = (existsSync(genPath) ? readJson(genPath) : {}) as GenerationConfig;
  const { lookup, files } = openWeights(dir);
  let model: TransformerModel;
  try {
    model = TransformerModel.fromTensors(
      config,
      (spec) => {
        const file = lookup.get(spec.name);
        if (!file) throw new Error(`Checkpoint ${dir} is missing tensor "${spec.name}"`);
        const { data, shape } = file.read(spec.name);
        if (shape.length !== spec.shape.length || shape.some((n, i) => n !== spec.shape[i])) {
          throw new Error(
            `${file.path}: tensor "${spec.name}" has shape ${JSON.stringify(shape)}, config.json implies ${JSON.stringify(spec.shape)}`,
          );
        }
        return spec.linear ? transpose2d(data, shape[0], shape[1]) : data;
      },
      options.seed,
    );
  } finally {
    files.forEach((f) => f.close());
  }
  const stopIds = [...idList(generationConfig.eos_token_id), ...idList(config.eos_token_id)];
  let tokenizer: Tokenizer;
  if (existsSync(join(dir, 'tokenizer.json'))) tokenizer = loadTokenizer(dir, stopIds);
  else if (config.tracetune_tokenizer === 'byte') tokenizer = new ByteTokenizer();
  else {
    model.dispose();
    throw new Error(`No tokenizer.json in ${dir}`);
  }
  if (tokenizer.vocabSize > config.vocab_size) {
    model.dispose();
    throw new Error(
      `${dir}: tokenizer has ${tokenizer.vocabSize} ids but config.json vocab_size is ${config.vocab_size}`,
    );
  }
  return { model, tokenizer, generationConfig };
}

/**
 * Writes a checkpoint directory in the HF layout, readable by `loadCheckpoint` and by `transformers`
 * (`AutoModelForCausalLM.from_pretrained`): config.json, model.safetensors (F32; Linear weights [out, in]; LoRA
 * adapters, if any, merged into the written weights without changing the model), tokenizer files, generation_config.json.
 */
export function saveCheckpoint(
  model: TransformerModel,
  tokenizer: Tokenizer,
  dir: string,
  generationConfig: GenerationConfig = {},
): void {
  mkdirSync(dir, { recursive: true });
  const config = model.config;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configToHf(config), null, 2));
  writeSafetensors(
    join(dir, 'model.safetensors'),
    tensorSpecs(config).map((spec) => ({
      name: spec.name,
      shape: spec.shape,
      data: () => {
        const t = model.effectiveWeight(spec.name);
        const data = t.dataSync() as Float32Array;
        const out = spec.linear ? transpose2d(data, spec.shape[1], spec.shape[0]) : new Float32Array(data);
        t.dispose();
        return out;
      },
    })),
  );
  saveTokenizer(tokenizer, dir);
  const gen: GenerationConfig = {
    bos_token_id: config.bos_token_id,
    eos_token_id: config.eos_token_id,
    ...(config.pad_token_id !== undefined ? { pad_token_id: config.pad_token_id } : {}),
    transformers_version: '4.45.0',
    ...generationConfig,
  };
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify(gen, null, 2));
}
