import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { configFromHf, SafetensorsFile, tensorSpecs, type ModelConfig } from '@tracetune/model/metadata';

export class CheckpointProblem extends Error {
  constructor(
    message: string,
    /** The request field at fault (an upload's `file` unless said otherwise). */
    readonly param = 'file',
  ) {
    super(message);
  }
}

/**
 * Checks a Hugging Face layout directory without loading weights (headers only, so the api's event loop stays free):
 * a supported architecture in config.json, every tensor the config implies present with its shape, a tokenizer.
 * Errors name the file and tensor at fault.
 */
export function inspectCheckpoint(dir: string): ModelConfig {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new CheckpointProblem(`${dir} is not a directory on the server`);
  const configPath = join(dir, 'config.json');
  if (!existsSync(configPath)) throw new CheckpointProblem(`${dir} has no config.json`);
  let raw: Record<string, unknown>;
  let config: ModelConfig;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>;
    config = configFromHf(raw);
  } catch (error) {
    throw new CheckpointProblem(`${configPath}: ${(error as Error).message}`);
  }
  const indexPath = join(dir, 'model.safetensors.index.json');
  const names = existsSync(indexPath)
    ? [
        ...new Set(
          Object.values(
            (JSON.parse(readFileSync(indexPath, 'utf8')) as { weight_map?: Record<string, string> })
              .weight_map ?? {},
          ),
        ),
      ]
    : readdirSync(dir)
        .filter((f) => f.endsWith('.safetensors'))
        .sort();
  if (names.length === 0) throw new CheckpointProblem(`${dir} has no *.safetensors weights`);
  const shapes = new Map<string, { file: string; shape: number[] }>();
  for (const name of names) {
    const path = join(dir, name);
    if (!existsSync(path)) throw new CheckpointProblem(`${indexPath} names ${name}, which does not exist`);
    let file: SafetensorsFile;
    try {
      file = new SafetensorsFile(path);
    } catch (error) {
      throw new CheckpointProblem(`${path}: ${(error as Error).message}`);
    }
    try {
      for (const [tensor, entry] of file.tensors) shapes.set(tensor, { file: path, shape: entry.shape });
    } finally {
      file.close();
    }
  }
  for (const spec of tensorSpecs(config)) {
    const found = shapes.get(spec.name);
    if (!found) throw new CheckpointProblem(`${dir} is missing tensor "${spec.name}"`);
    if (found.shape.join(',') !== spec.shape.join(',')) {
      throw new CheckpointProblem(
        `${found.file}: tensor "${spec.name}" has shape ${JSON.stringify(found.shape)}, config.json implies ${JSON.stringify(spec.shape)}`,
      );
    }
  }
  if (!existsSync(join(dir, 'tokenizer.json')) && raw['tracetune_tokenizer'] !== 'byte') {
    throw new CheckpointProblem(`${dir} has no tokenizer.json`);
  }
  return config;
}
