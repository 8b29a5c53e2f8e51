import {
  existsSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { trainingMemoryBytes, type ModelConfig } from '@tracetune/model/metadata';
import { extractTar, gunzipIfCompressed, TarTooLargeError } from '@tracetune/storage';
import { CHATML_TEMPLATE, loadTokenizer, renderChatTemplate, type Tokenizer } from '@tracetune/tokenizer';

import { CheckpointProblem, inspectCheckpoint } from './checkpoint-inspection';

/** Counts the bytes of the upload as sent, failing past the limit (before anything is expanded from them). */
export async function* limitBytes(source: Readable, maxBytes: number): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += (chunk as Buffer).length;
    if (seen > maxBytes) throw new TarTooLargeError(maxBytes);
    yield chunk as Buffer;
  }
}

/** Extracts an uploaded .tar/.tar.gz into `dir`; files may sit at the root or under one top folder. */
export async function extractModelArchive(stream: Readable, dir: string, maxBytes: number): Promise<void> {
  await extractTar(gunzipIfCompressed(limitBytes(stream, maxBytes)), dir, maxBytes);
  const top = readdirSync(dir);
  if (existsSync(join(dir, 'config.json')) || top.length !== 1) return;
  const only = join(dir, top[0]);
  if (!statSync(only).isDirectory()) return;
  for (const name of readdirSync(only)) renameSync(join(only, name), join(dir, name));
  rmdirSync(only);
}

/**
 * The chat template of an upload: the one in tokenizer_config.json (or chat_template.jinja), else the one given with the upload, else ChatML
 * (written into tokenizer_config.json so the folder is self-contained). It must render a conversation.
 */
function settleChatTemplate(dir: string, given: string | undefined): Tokenizer | null {
  const path = join(dir, 'tokenizer_config.json');
  if (!existsSync(join(dir, 'tokenizer.json'))) return null;
  const config = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : {};
  const jinja = join(dir, 'chat_template.jinja');
  if (given !== undefined || (!config['chat_template'] && !existsSync(jinja))) {
    config['chat_template'] = given ?? CHATML_TEMPLATE;
    writeFileSync(path, JSON.stringify(config, null, 2));
    if (existsSync(jinja)) writeFileSync(jinja, config['chat_template'] as string);
  }
  const template = existsSync(jinja) ? readFileSync(jinja, 'utf8') : (config['chat_template'] as unknown);
  try {
    const tokens = { bos_token: null, eos_token: null, pad_token: null };
    const messages = [{ role: 'user' as const, content: 'hi' }];
    if (typeof template === 'string')
      renderChatTemplate(template, messages, tokens, { addGenerationPrompt: true });
  } catch (error) {
    throw new CheckpointProblem(
      `chat_template does not render: ${(error as Error).message}`,
      given !== undefined ? 'chat_template' : 'file',
    );
  }
  const tokenizer = loadTokenizer(dir);
  return tokenizer;
}

/** Memory budgets an upload must fit: training it with LoRA on the largest worker queue. */
export interface UploadBudget {
  maxTrainingBytes: number;
}

/** Validates an extracted upload: config and weights (`inspectCheckpoint`), tokenizer, chat template, size. */
export function validateUpload(
  dir: string,
  chatTemplate: string | undefined,
  budget: UploadBudget,
): ModelConfig {
  const config = inspectCheckpoint(dir);
  let tokenizer: Tokenizer | null;
  try {
    tokenizer = settleChatTemplate(dir, chatTemplate);
  } catch (error) {
    if (error instanceof CheckpointProblem) throw error;
    throw new CheckpointProblem(`tokenizer: ${(error as Error).message}`);
  }
  if (tokenizer && tokenizer.vocabSize > config.vocab_size)
    throw new CheckpointProblem(
      `tokenizer.json has ${tokenizer.vocabSize} ids but config.json vocab_size is ${config.vocab_size}`,
    );
  const needed = trainingMemoryBytes(config, { rank: 1, targets: [] });
  if (needed > budget.maxTrainingBytes) {
    throw new CheckpointProblem(
      `the model needs at least ${mib(needed)} MiB for its float32 weights, over the memory budget of ${mib(budget.maxTrainingBytes)} MiB (TRACETUNE_ACCELERATOR_MEMORY_MB)`,
    );
  }
  return config;
}

export const mib = (bytes: number): number => Math.ceil(bytes / 1024 ** 2);
