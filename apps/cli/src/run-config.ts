import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';

import {
  algorithmSchema,
  hyperparametersSchema,
  loraSchema,
  resolveAlgorithm,
  resolveHyperparameters,
  resolveLora,
  type AlgorithmInput,
  type HyperparametersInput,
  type LoraInput,
} from '@tracetune/contracts';
import type { BaseModelSource, TrainerOptions, TrainingRunSpec } from '@tracetune/trainer';

/**
 * `tracetune train --config run.json`: a training run with file paths (relative to the config file) for data. The
 * settings are a job's (`hyperparameters`, `algorithm`, `lora`), checked with the api's schemas and resolved with
 * its defaults (libs/contracts), so a run behaves as the same job would on the service.
 */
export interface RunConfigFile {
  method: 'reinforcement' | 'supervised';
  /** `{kind:'builtin', name:'tt-nano'}` or `{kind:'directory', path}` (path relative to the config file). */
  baseModel: BaseModelSource;
  trainingFile: string;
  validationFile?: string | null;
  /** A grader object, or the path of a JSON file holding one. */
  grader?: Record<string, unknown> | string | null;
  hyperparameters?: HyperparametersInput;
  algorithm?: AlgorithmInput;
  /** `true` for the default LoRA, an object to override it, null/absent for full fine-tuning. */
  lora?: LoraInput | boolean | null;
  seed?: number;
  checkpointInterval?: number;
  sampleInterval?: number;
  passThreshold?: number;
  trainer?: TrainerOptions;
  /** Checkpoints and the final model go here (relative to the config file). */
  output: string;
  /** tfjs backend (overridden by --backend, then by TRACETUNE_BACKEND). */
  backend?: string;
}

export class ConfigFileError extends Error {}

/** `value` checked with a job's schema; a bad field is named as `<key>.<path>`. */
function checked<S extends z.ZodType>(path: string, key: string, schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ConfigFileError(`${path}: ${[key, ...issue.path].join('.')}: ${issue.message}`);
}

/** Non-empty lines of a JSONL file: the examples the job's "auto" settings are resolved for. */
function countExamples(file: string): number {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '').length;
}

export function loadRunConfig(path: string): {
  spec: TrainingRunSpec;
  output: string;
  backend: string | null;
} {
  let raw: RunConfigFile;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8')) as RunConfigFile;
  } catch (e) {
    throw new ConfigFileError(`Cannot read ${path}: ${(e as Error).message}`);
  }
  const base = dirname(resolve(path));
  const at = (p: string): string => resolve(base, p);
  const read = (p: string, what: string): string => {
    try {
      return readFileSync(at(p), 'utf8');
    } catch (e) {
      throw new ConfigFileError(`Cannot read the ${what} ${at(p)}: ${(e as Error).message}`);
    }
  };
  if (raw.method !== 'reinforcement' && raw.method !== 'supervised')
    throw new ConfigFileError(`${path}: method must be "reinforcement" or "supervised"`);
  if (!raw.trainingFile) throw new ConfigFileError(`${path}: trainingFile is required`);
  if (!raw.output) throw new ConfigFileError(`${path}: output is required`);
  if (!raw.baseModel) throw new ConfigFileError(`${path}: baseModel is required`);
  const grader =
    typeof raw.grader === 'string'
      ? (JSON.parse(read(raw.grader, 'grader file')) as Record<string, unknown>)
      : (raw.grader ?? null);
  read(raw.trainingFile, 'training file'); // a readable file, or a clear error now
  const examples = countExamples(at(raw.trainingFile));
  const hyperparameters = resolveHyperparameters(
    raw.method,
    checked(path, 'hyperparameters', hyperparametersSchema, raw.hyperparameters),
    examples,
  );
  const lora = raw.lora ? checked(path, 'lora', loraSchema, raw.lora === true ? {} : raw.lora) : null;
  const baseModel: BaseModelSource =
    raw.baseModel.kind === 'directory' ? { kind: 'directory', path: at(raw.baseModel.path) } : raw.baseModel;
  const spec: TrainingRunSpec = {
    method: raw.method,
    baseModel,
    trainingFile: at(raw.trainingFile),
    validationFile: raw.validationFile ? at(raw.validationFile) : null,
    grader,
    hyperparameters,
    algorithm:
      raw.method === 'reinforcement'
        ? resolveAlgorithm(
            checked(path, 'algorithm', algorithmSchema, raw.algorithm),
            hyperparameters.batch_size,
          )
        : null,
    lora: resolveLora(lora),
    seed: raw.seed ?? 0,
    checkpointInterval: raw.checkpointInterval ?? 0,
    sampleInterval: raw.sampleInterval ?? 0,
    passThreshold: raw.passThreshold ?? 1,
    trainer: raw.trainer ?? null,
  };
  return { spec, output: at(raw.output), backend: raw.backend ?? null };
}
