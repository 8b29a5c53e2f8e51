import { createWriteStream, existsSync, mkdirSync, openAsBlob, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import OpenAI from 'openai';

import { extractTar, folderTarEntries, tarStream } from '@tracetune/storage';

/** Connection options; unset ones fall back to the SDK's own OPENAI_BASE_URL / OPENAI_API_KEY. */
export interface ServerOptions {
  baseURL: string | null;
  apiKey: string | null;
}

export function serverClient(options: ServerOptions): OpenAI {
  return new OpenAI({
    ...(options.baseURL ? { baseURL: options.baseURL } : {}),
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
  });
}

/**
 * Uploads a Hugging Face folder (tarred on the fly into a temporary file, so nothing is held in memory) or a
 * .tar/.tar.gz as a base model of the key's organization; returns the model object.
 */
export async function importModel(
  client: OpenAI,
  path: string,
  fields: { suffix?: string; chatTemplate?: string } = {},
): Promise<{ id: string }> {
  if (!existsSync(path)) throw new Error(`${path} does not exist`);
  let archive = path;
  let scratch: string | null = null;
  if (statSync(path).isDirectory()) {
    scratch = await mkdtemp(join(tmpdir(), 'tracetune-import-'));
    archive = join(scratch, `${basename(path)}.tar`);
    await pipeline(Readable.from(tarStream(await folderTarEntries(path))), createWriteStream(archive));
  }
  try {
    const form = new FormData();
    form.append('file', await openAsBlob(archive), basename(archive));
    if (fields.suffix) form.append('suffix', fields.suffix);
    if (fields.chatTemplate) form.append('chat_template', fields.chatTemplate);
    return await client.post<{ id: string }>('/models', { body: form });
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Downloads a model as its Hugging Face folder into `dir` (created; must not hold the files already). */
export async function exportModel(
  client: OpenAI,
  model: string,
  dir: string,
  dtype: string | null = null,
): Promise<string[]> {
  const response = (await client.get(`/models/${encodeURIComponent(model)}/content`, {
    query: dtype ? { dtype } : {},
    __binaryResponse: true,
  } as Parameters<OpenAI['get']>[1])) as unknown as Response;
  if (!response.body) throw new Error('the server sent no content');
  mkdirSync(dir, { recursive: true });
  return extractTar(Readable.fromWeb(response.body as never), dir, Number.MAX_SAFE_INTEGER);
}
