import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { saveCheckpoint, type TransformerModel } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import { TrainingError, type BaseModelSource, type StepMetrics, type TrainingRunSpec } from './contract';
import type { AdamW } from './optimizer';
import { saveAdapters } from './policy';

export const TRAINER_STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';

/** Everything besides tensors that a resumed run needs. RNG state is {seed, step}: every stream derives from them. */
export interface TrainerState {
  version: 1;
  method: TrainingRunSpec['method'];
  seed: number;
  step: number;
  totalSteps: number;
  /** Position in the shuffled epoch stream of training examples. */
  dataCursor: number;
  trainedTokens: number;
  optimizerStep: number;
  lora: boolean;
  history: { step: number; metrics: StepMetrics }[];
}

export interface CheckpointParts {
  model: TransformerModel;
  tokenizer: Tokenizer;
  optimizer: AdamW | null;
  state: TrainerState;
  /** The run's base model (named in the PEFT adapter's config). */
  baseModel: BaseModelSource;
}

/**
 * Writes a checkpoint atomically: everything goes into a temporary sibling directory that is renamed into place, so
 * a crash leaves either the old checkpoint or the complete new one. Layout: HF weights with LoRA merged (servable as
 * is) + `adapter/` (LoRA runs: the unmerged adapters as a PEFT folder, for peft and for exact resume) + `optimizer.safetensors`
 * + `trainer_state.json`.
 */
export function writeCheckpoint(dir: string, parts: CheckpointParts): void {
  mkdirSync(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${dir.split(/[\\/]/).pop()}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  saveCheckpoint(parts.model, parts.tokenizer, tmp);
  if (parts.model.loraConfig()) saveAdapters(parts.model, tmp, parts.baseModel);
  parts.optimizer?.save(join(tmp, OPTIMIZER_FILE));
  writeFileSync(join(tmp, TRAINER_STATE_FILE), JSON.stringify(parts.state));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

export function readTrainerState(dir: string): TrainerState {
  const path = join(dir, TRAINER_STATE_FILE);
  if (!existsSync(path))
    throw new TrainingError(
      'model_load_failed',
      `Cannot resume: ${path} does not exist (not a trainer checkpoint)`,
      'resumeFrom',
    );
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as TrainerState;
    if (state.version !== 1) throw new Error(`unknown trainer_state version ${String(state.version)}`);
    return state;
  } catch (e) {
    if (e instanceof TrainingError) throw e;
    throw new TrainingError(
      'model_load_failed',
      `Cannot resume from ${dir}: ${(e as Error).message}`,
      'resumeFrom',
    );
  }
}
