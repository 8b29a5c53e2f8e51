import {
  TrainingError,
  type RunTrainingOptions,
  type TrainingOutcome,
  type TrainingRunSpec,
} from './contract';
import { readJsonl } from './data';
import { runLoop, type TrainingMethod } from './loop';
import { TRAINING_METHODS, type PreparedMethod, type TrainingData } from './methods';
import { startThreads } from './parallel/start';
import { closeSession, openSession, type Session } from './session';
import { resolveSettings, type TrainerSettings } from './settings';

/** Refuses settings no run can use, naming the field (callers other than the api do not validate with its schema). */
function checkSpec(spec: TrainingRunSpec): void {
  const h = spec.hyperparameters;
  const bad = (param: string, why: string): never => {
    throw new TrainingError('invalid_config', `${param} ${why}`, param);
  };
  if (!(Number.isInteger(h.batch_size) && h.batch_size >= 1))
    bad('hyperparameters.batch_size', `must be an integer ≥ 1 (got ${h.batch_size})`);
  if (!(h.n_epochs > 0)) bad('hyperparameters.n_epochs', `must be > 0 (got ${h.n_epochs})`);
  if (!(h.learning_rate_multiplier > 0))
    bad('hyperparameters.learning_rate_multiplier', `must be > 0 (got ${h.learning_rate_multiplier})`);
  if (spec.method === 'reinforcement') {
    if (!spec.algorithm) bad('method.reinforcement.algorithm', 'is required for reinforcement fine-tuning');
    if (!spec.grader) bad('method.reinforcement.grader', 'is required for reinforcement fine-tuning');
  }
}

/** The data files, read line by line and checked for the method. */
async function readData(spec: TrainingRunSpec): Promise<TrainingData> {
  const train = await readJsonl(spec.trainingFile, spec.method, 'training_file');
  const valid = spec.validationFile
    ? await readJsonl(spec.validationFile, spec.method, 'validation_file')
    : [];
  return { train, valid };
}

/** ⌈n_epochs × examples / batch_size⌉ steps, or fewer with `maxSteps`. */
function totalStepsFor(spec: TrainingRunSpec, examples: number, settings: TrainerSettings): number {
  const { n_epochs, batch_size } = spec.hyperparameters;
  const fromEpochs = Math.max(1, Math.ceil((n_epochs * examples) / batch_size));
  return settings.maxSteps ? Math.min(fromEpochs, settings.maxSteps) : fromEpochs;
}

/**
 * Runs one fine-tuning job to completion, cancellation or pause (the contract in contract.ts): reads the data,
 * prepares the method (its config and grader are refused before any model loads), opens the session (policy and
 * optimiser, resumed when asked) and runs the one training loop with the method's step function. The caller chooses
 * the tfjs backend beforehand. Throws TrainingError for failures a job should report.
 */
export async function runTraining(
  spec: TrainingRunSpec,
  options: RunTrainingOptions,
): Promise<TrainingOutcome> {
  checkSpec(spec);
  const settings = resolveSettings(spec.trainer);
  const data = await readData(spec);
  const prepared: PreparedMethod = TRAINING_METHODS[spec.method](spec, data, settings);
  let session: Session | null = null;
  try {
    session = openSession(spec, options, settings, totalStepsFor(spec, data.train.length, settings));
    session.pool = await startThreads(session, options);
    if (session.pool) {
      const threads = session.pool.size;
      await session.callbacks.onEvent?.('info', `Training on ${threads} threads`, { threads });
    }
    const method: TrainingMethod = prepared.open(session);
    return await runLoop(session, method, data.train.length);
  } finally {
    prepared.dispose();
    await session?.pool?.dispose();
    closeSession(session);
  }
}
