import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import type { ExportDtype } from '@tracetune/contracts';
import {
  convertedTensors,
  safetensorsBytes,
  safetensorsChunks,
  SafetensorsFile,
} from '@tracetune/model/metadata';
import type { TarEntry } from '@tracetune/storage';

/** The files of a model folder a download carries besides the weights (when present). */
const TOKENIZER_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'special_tokens_map.json',
  'added_tokens.json',
  'vocab.json',
  'merges.txt',
  'tokenizer.model',
  'chat_template.jinja',
  'generation_config.json',
];

const SAFETENSORS_DTYPE = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' } as const;

/** The dtype a download defaults to: the base model's (`torch_dtype` of its config), float32 when unknown. */
export function defaultExportDtype(architecture: unknown): ExportDtype {
  const raw = (architecture as { torch_dtype?: unknown } | null)?.torch_dtype;
  return raw === 'bfloat16' || raw === 'float16' ? raw : 'float32';
}

function jsonEntry(path: string, value: unknown): TarEntry {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`);
  return { path, size: bytes.length, body: () => [bytes] };
}

function fileEntry(path: string, file: string): TarEntry {
  return { path, size: statSync(file).size, body: () => createReadStream(file) };
}

function weightFiles(dir: string): string[] {
  const index = join(dir, 'model.safetensors.index.json');
  if (existsSync(index)) {
    const map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> })
      .weight_map;
    return [...new Set(Object.values(map ?? {}))].map((f) => join(dir, f));
  }
  return [join(dir, 'model.safetensors')];
}

export interface ModelExport {
  entries: TarEntry[];
  /** Closes the weight files (after the stream ends or fails). */
  close(): void;
}

/**
 * The tar entries of a download: config.json (its `torch_dtype` set to the chosen dtype), one model.safetensors in
 * that dtype (shards joined; each tensor read and converted only when streamed), tokenizer and generation files,
 * and for LoRA runs the PEFT folder `adapter/` with `base_model_name_or_path` set to the base model's id. Optimizer
 * state and trainer bookkeeping stay on the server.
 */
export function modelExport(dir: string, dtype: ExportDtype, baseModelId: string | null): ModelExport {
  const files = weightFiles(dir).map((f) => new SafetensorsFile(f));
  const tensors = files.flatMap((f) => convertedTensors(f, SAFETENSORS_DTYPE[dtype]));
  const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const entries: TarEntry[] = [
    jsonEntry('config.json', { ...config, torch_dtype: dtype }),
    {
      path: 'model.safetensors',
      size: safetensorsBytes(tensors),
      body: () => safetensorsChunks(tensors),
    },
  ];
  for (const name of TOKENIZER_FILES) {
    if (existsSync(join(dir, name))) entries.push(fileEntry(name, join(dir, name)));
  }
  const adapter = join(dir, 'adapter');
  if (existsSync(join(adapter, 'adapter_config.json'))) {
    const peft = JSON.parse(readFileSync(join(adapter, 'adapter_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    entries.push(
      jsonEntry('adapter/adapter_config.json', {
        ...peft,
        base_model_name_or_path: baseModelId ?? peft['base_model_name_or_path'],
      }),
    );
    for (const name of readdirSync(adapter)
      .filter((f) => f !== 'adapter_config.json')
      .sort())
      entries.push(fileEntry(`adapter/${name}`, join(adapter, name)));
  }
  return { entries, close: () => files.forEach((f) => f.close()) };
}
