import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { ByteTokenizer } from './byte-tokenizer';
import { HfTokenizer } from './hf-tokenizer';
import type { Tokenizer } from './types';

function readJson(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`Cannot read tokenizer file ${path}: ${(e as Error).message}`);
  }
}

/**
 * Loads the tokenizer of a model directory: `tokenizer.json` (required), `tokenizer_config.json` (optional; chat
 * template and special tokens; newer transformers write the template to `chat_template.jinja` instead, which wins
 * when present, as in transformers). A config marked `"tracetune_tokenizer": "byte"` gives the built-in ByteTokenizer.
 * `extraStopIds` are added to the stop ids (pass `generation_config.json`'s `eos_token_id`).
 */
export function loadTokenizer(dir: string, extraStopIds: readonly number[] = []): Tokenizer {
  const jsonPath = join(dir, 'tokenizer.json');
  if (!existsSync(jsonPath)) throw new Error(`No tokenizer.json in ${dir}`);
  const configPath = join(dir, 'tokenizer_config.json');
  const config = existsSync(configPath) ? readJson(configPath) : {};
  if (config['tracetune_tokenizer'] === 'byte') return new ByteTokenizer();
  const jinja = join(dir, 'chat_template.jinja');
  if (existsSync(jinja)) config['chat_template'] = readFileSync(jinja, 'utf8');
  return new HfTokenizer(readJson(jsonPath), config, extraStopIds);
}

/** Writes `tokenizer.json` and `tokenizer_config.json` into `dir` (which must exist). */
export function saveTokenizer(tokenizer: Tokenizer, dir: string): void {
  const files = tokenizer.toFiles();
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig, null, 2));
}
