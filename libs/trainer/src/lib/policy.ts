import { basename, join } from 'node:path';

import type { ResolvedLora } from '@tracetune/contracts';
import {
  builtinConfig,
  loadCheckpoint,
  loadPeftAdapter,
  savePeftAdapter,
  TransformerModel,
  type LoraTarget,
} from '@tracetune/model';
import { ByteTokenizer, type Tokenizer } from '@tracetune/tokenizer';

import { TrainingError, type BaseModelSource } from './contract';
import type { NamedVariable } from './optimizer';
import { streamSeed } from './seeds';

/** The PEFT adapter folder inside a LoRA run's checkpoints. */
export const ADAPTER_DIR = 'adapter';

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

/**
 * Saves the LoRA adapters unmerged as a PEFT folder (`adapter/` of the checkpoint): what `peft` loads, and what a
 * resumed run reads back to continue from exactly the same parameters (the layout change is a transpose).
 */
export function saveAdapters(model: TransformerModel, dir: string, baseModel: BaseModelSource): void {
  const name = baseModel.kind === 'builtin' ? baseModel.name : basename(baseModel.path);
  savePeftAdapter(model, join(dir, ADAPTER_DIR), name);
}

export function loadAdapters(model: TransformerModel, dir: string): void {
  loadPeftAdapter(model, join(dir, ADAPTER_DIR));
}
