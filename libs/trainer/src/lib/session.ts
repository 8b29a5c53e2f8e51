import { join } from 'node:path';

import { loadCheckpoint, type TransformerModel } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import { readTrainerState, type TrainerState } from './checkpoint';
import {
  TrainingError,
  type RunTrainingOptions,
  type TrainingCallbacks,
  type TrainingRunSpec,
} from './contract';
import { AdamW, type NamedVariable } from './optimizer';
import type { TrainerPool } from './parallel/pool';
import { addLoraAdapters, loadAdapters, loadBaseModel, trainableVariables } from './policy';
import { baseLearningRate, type TrainerSettings } from './settings';

/** The model, optimiser and bookkeeping of one run: what the loop and every method's step function share. */
export interface Session {
  spec: TrainingRunSpec;
  options: RunTrainingOptions;
  callbacks: TrainingCallbacks;
  settings: TrainerSettings;
  model: TransformerModel;
  tokenizer: Tokenizer;
  trainables: NamedVariable[];
  /** tfjs variable name → stable name (optimizer state and checkpoints use the stable one). */
  names: Map<string, string>;
  optimizer: AdamW;
  state: TrainerState;
  /** Peak learning rate: the base rate of the model and method times `learning_rate_multiplier`. */
  peakLr: number;
  /** The training threads (data parallelism) when the run has more than one; null trains on this thread. */
  pool: TrainerPool | null;
}

interface Resume {
  dir: string;
  state: TrainerState;
}

const loadFailure = (what: string, dir: string, e: unknown): TrainingError =>
  new TrainingError('model_load_failed', `Cannot load ${what} ${dir}: ${(e as Error).message}`, 'resumeFrom');

/** The policy: a full checkpoint to resume from, or the base model (plus LoRA adapters, resumed if any). */
function loadPolicy(
  spec: TrainingRunSpec,
  resume: Resume | null,
): { model: TransformerModel; tokenizer: Tokenizer } {
  if (resume && !spec.lora) {
    try {
      return loadCheckpoint(resume.dir, { seed: spec.seed });
    } catch (e) {
      throw loadFailure('checkpoint', resume.dir, e);
    }
  }
  const loaded = loadBaseModel(spec.baseModel, spec.seed);
  if (spec.lora) {
    addLoraAdapters(loaded.model, spec.lora, spec.seed);
    if (resume) {
      try {
        loadAdapters(loaded.model, resume.dir);
      } catch (e) {
        loaded.model.dispose();
        throw loadFailure('the adapters of', resume.dir, e);
      }
    }
  }
  return loaded;
}

function readResume(spec: TrainingRunSpec, options: RunTrainingOptions): Resume | null {
  if (!options.resumeFrom) return null;
  const resume = { dir: options.resumeFrom, state: readTrainerState(options.resumeFrom) };
  if (resume.state.method !== spec.method) {
    throw new TrainingError(
      'invalid_config',
      `Checkpoint ${resume.dir} is from a ${resume.state.method} run, not ${spec.method}`,
      'resumeFrom',
    );
  }
  return resume;
}

function freshState(spec: TrainingRunSpec, totalSteps: number): TrainerState {
  return {
    version: 1,
    method: spec.method,
    seed: spec.seed,
    step: 0,
    totalSteps,
    dataCursor: 0,
    trainedTokens: 0,
    optimizerStep: 0,
    lora: !!spec.lora,
    history: [],
  };
}

/** Loads the policy and the optimiser (from `options.resumeFrom` when given) for a run of `totalSteps` steps. */
export function openSession(
  spec: TrainingRunSpec,
  options: RunTrainingOptions,
  settings: TrainerSettings,
  totalSteps: number,
): Session {
  const resume = readResume(spec, options);
  const { model, tokenizer } = loadPolicy(spec, resume);
  const trainables = trainableVariables(model);
  const optimizer = new AdamW(trainables, {
    beta1: settings.adamBeta1,
    beta2: settings.adamBeta2,
    epsilon: settings.adamEpsilon,
    weightDecay: settings.weightDecay,
  });
  if (resume) {
    try {
      optimizer.load(join(resume.dir, 'optimizer.safetensors'));
    } catch (e) {
      optimizer.dispose();
      model.dispose();
      throw loadFailure('the optimizer state of', resume.dir, e);
    }
  }
  const peakLr =
    baseLearningRate(spec, model.parameterCount(), settings) * spec.hyperparameters.learning_rate_multiplier;
  return {
    spec,
    options,
    callbacks: options.callbacks ?? {},
    settings,
    model,
    tokenizer,
    trainables,
    names: new Map(trainables.map((t) => [t.variable.name, t.name])),
    optimizer,
    state: resume ? { ...resume.state, totalSteps } : freshState(spec, totalSteps),
    peakLr,
    pool: null,
  };
}

export function closeSession(session: Session | null): void {
  session?.optimizer.dispose();
  session?.model.dispose();
}
