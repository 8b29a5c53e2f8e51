import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import type { ResolvedLora } from '@tracetune/contracts';
import {
  builtinConfig,
  loadCheckpoint,
  SafetensorsFile,
  TransformerModel,
  writeSafetensors,
  type LoraTarget,
} from '@tracetune/model';
import { ByteTokenizer, type Tokenizer } from '@tracetune/tokenizer';

import { TrainingError, type BaseModelSource } from './contract';
import type { NamedVariable } from './optimizer';
import { streamSeed } from './seeds';

export const ADAPTER_FILE = 'adapter_model.safetensors';

export interface LoadedPolicy {
  model: TransformerModel;
  tokenizer: Tokenizer;
}

/** The base model of a run (deterministic init from the seed for built-ins). Failures are 'model_load_failed'. */
export function loadBaseModel(source: BaseModelSource, seed: number): LoadedPolicy {
  try {
    if (source.kind === 'builtin') {
      return {
        model: TransformerModel.random(builtinConfig(source.name), seed),
        tokenizer: new ByteTokenizer(),
      };
    }
    const { model, tokenizer } = loadCheckpoint(source.path, { seed });
    return { model, tokenizer };
  } catch (e) {
    const what =
      source.kind === 'builtin' ? `built-in model "${source.name}"` : `model directory ${source.path}`;
    throw new TrainingError('model_load_failed', `Cannot load the ${what}: ${(e as Error).message}`, 'model');
  }
}

/** Adds the run's LoRA adapters (seeded from the run seed); bad settings are 'invalid_config'. */
export function addLoraAdapters(model: TransformerModel, lora: ResolvedLora, seed: number): void {
  try {
    model.addLora(
      {
        rank: lora.rank,
        alpha: lora.alpha,
        dropout: lora.dropout,
        targets: lora.target_modules as LoraTarget[],
      },
      streamSeed(seed, 0, 'loraInit'),
    );
  } catch (e) {
    throw new TrainingError(
      'invalid_config',
      `Invalid LoRA settings: ${(e as Error).message}`,
      'method.reinforcement.lora',
    );
  }
}

/** What the optimiser updates, under stable names: the adapters with LoRA, else every weight. */
export function trainableVariables(model: TransformerModel): NamedVariable[] {
  const source = model.loraConfig() ? model.loraWeights() : model.namedWeights();
  return [...source].map(([name, variable]) => ({ name, variable }));
}

/** Saves the LoRA adapters unmerged, so that a resumed run continues from exactly the same parameters. */
export function saveAdapters(model: TransformerModel, dir: string): void {
  const tensors = [...model.loraWeights()].map(([name, v]) => ({
    name,
    shape: v.shape,
    data: () => v.dataSync() as Float32Array,
  }));
  writeSafetensors(join(dir, ADAPTER_FILE), tensors);
}

export function loadAdapters(model: TransformerModel, dir: string): void {
  const path = join(dir, ADAPTER_FILE);
  const file = new SafetensorsFile(path);
  try {
    for (const [name, v] of model.loraWeights()) {
      if (!file.tensors.has(name))
        throw new Error(`${path} has no adapter "${name}" (LoRA settings changed?)`);
      const { data, shape } = file.read(name);
      if (shape.join('×') !== v.shape.join('×'))
        throw new Error(`${path}: "${name}" has shape ${shape.join('×')}, expected ${v.shape.join('×')}`);
      tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
    }
  } finally {
    file.close();
  }
}
