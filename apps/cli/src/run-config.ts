import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

import {
  DEFAULT_LORA,
  resolveAlgorithm,
  resolveHyperparameters,
  type BaseModelSource,
  type ResolvedAlgorithm,
  type ResolvedHyperparameters,
  type ResolvedLora,
  type TrainerOptions,
  type TrainingRunSpec,
} from '@tracetune/trainer';

/** `tracetune train --config run.json`: a TrainingRunSpec with file paths (relative to the config file) for data. */
export interface RunConfigFile {
  method: 'reinforcement' | 'supervised';
  /** `{kind:'builtin', name:'tt-nano'}` or `{kind:'directory', path}` (path relative to the config file). */
  baseModel: BaseModelSource;
  trainingFile: string;
  validationFile?: string | null;
  /** A grader object, or the path of a JSON file holding one. */
  grader?: Record<string, unknown> | string | null;
  hyperparameters?: Partial<ResolvedHyperparameters>;
  algorithm?: Partial<ResolvedAlgorithm>;
  /** `true` for the default LoRA, an object to override it, null/absent for full fine-tuning. */
  lora?: Partial<ResolvedLora> | boolean | null;
  seed?: number;
  checkpointInterval?: number;
  sampleInterval?: number;
  passThreshold?: number;
  trainer?: TrainerOptions;
  /** Checkpoints and the final model go here (relative to the config file). */
  output: string;
  /** tfjs backend (overridden by --backend). */
  backend?: string;
}

export class ConfigFileError extends Error {}

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
  const lora = raw.lora === true ? { ...DEFAULT_LORA } : raw.lora ? { ...DEFAULT_LORA, ...raw.lora } : null;
  const baseModel: BaseModelSource =
    raw.baseModel.kind === 'directory' ? { kind: 'directory', path: at(raw.baseModel.path) } : raw.baseModel;
  const spec: TrainingRunSpec = {
    method: raw.method,
    baseModel,
    trainingJsonl: read(raw.trainingFile, 'training file'),
    validationJsonl: raw.validationFile ? read(raw.validationFile, 'validation file') : null,
    grader,
    hyperparameters: resolveHyperparameters(raw.hyperparameters),
    algorithm: raw.method === 'reinforcement' ? resolveAlgorithm(raw.algorithm) : null,
    lora,
    seed: raw.seed ?? 0,
    checkpointInterval: raw.checkpointInterval ?? 0,
    sampleInterval: raw.sampleInterval ?? 0,
    passThreshold: raw.passThreshold ?? 1,
    trainer: raw.trainer ?? null,
  };
  return { spec, output: at(raw.output), backend: raw.backend ?? null };
}
