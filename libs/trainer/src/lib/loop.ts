import { join } from 'node:path';

import { writeCheckpoint } from './checkpoint';
import type { ControlSignal, SampleCompletion, StepMetrics, TrainingOutcome } from './contract';
import { DataStream } from './data';
import type { Session } from './session';

/** An event a step asks the loop to log after the step's metrics (e.g. the first grader failures). */
export interface StepEvent {
  level: 'info' | 'warn' | 'error';
  message: string;
  data?: Record<string, unknown>;
}

/** What one step of a method reports to the loop. */
export type StepResult =
  | {
      status: 'done';
      metrics: StepMetrics;
      /** Tokens this step trained on. */
      trainedTokens: number;
      /** Pause was asked for after the step's first update: the loop pauses once the step is recorded. */
      pauseRequested: boolean;
      /** One completion per prompt, logged at the sample cadence (methods that sample). */
      samples?: SampleCompletion[];
      events?: StepEvent[];
    }
  /** Stopped inside the step before any update: the model is still at the last completed step. */
  | { status: 'cancel' | 'pause' };

/**
 * A training method (reinforcement, supervised; preference optimisation would be a third): one optimisation step
 * on a batch and, when there is validation data, an evaluation. The loop owns everything else — control, state, the
 * data cursor, the cadence of evaluations, samples and checkpoints, and the callbacks.
 */
export interface TrainingMethod {
  /** The event logged before the first step. */
  readonly start: StepEvent;
  /** Step `step` (1-based) on the training examples at `batch` (indices into the method's training set). */
  step(step: number, batch: readonly number[]): Promise<StepResult>;
  /** Validation metrics (`eval_*`) after step `step`; null when the run has no validation data. */
  readonly evaluate: ((step: number) => Promise<StepMetrics>) | null;
}

export function control(s: Session): ControlSignal {
  return s.callbacks.control?.() ?? 'continue';
}

function lastMetrics(s: Session): StepMetrics {
  return s.state.history[s.state.history.length - 1]?.metrics ?? {};
}

function outcome(s: Session, status: TrainingOutcome['status'], modelDir: string | null): TrainingOutcome {
  return {
    status,
    step: s.state.step,
    totalSteps: s.state.totalSteps,
    trainedTokens: s.state.trainedTokens,
    modelDir,
    finalMetrics: lastMetrics(s),
  };
}

async function saveStepCheckpoint(s: Session, metrics: StepMetrics): Promise<string> {
  s.state.optimizerStep = s.optimizer.step;
  const dir = join(s.options.checkpointRoot, `step-${s.state.step}`);
  writeCheckpoint(dir, {
    model: s.model,
    tokenizer: s.tokenizer,
    optimizer: s.optimizer,
    state: s.state,
    baseModel: s.spec.baseModel,
  });
  await s.callbacks.onCheckpoint?.({ step: s.state.step, dir, metrics });
  return dir;
}

async function pause(s: Session): Promise<TrainingOutcome> {
  const dir = await saveStepCheckpoint(s, lastMetrics(s));
  await s.callbacks.onEvent?.('info', `Paused after step ${s.state.step}; checkpoint written to ${dir}`, {
    step: s.state.step,
  });
  return outcome(s, 'paused', dir);
}

/** Final weights (LoRA merged into the written tensors) + the last step checkpoint. */
async function finish(s: Session): Promise<TrainingOutcome> {
  await saveStepCheckpoint(s, lastMetrics(s));
  const finalDir = join(s.options.checkpointRoot, 'final');
  writeCheckpoint(finalDir, {
    model: s.model,
    tokenizer: s.tokenizer,
    optimizer: null,
    state: s.state,
    baseModel: s.spec.baseModel,
  });
  await s.callbacks.onEvent?.('info', `Training finished after ${s.state.step} steps`, {
    step: s.state.step,
    modelDir: finalDir,
  });
  return outcome(s, 'succeeded', finalDir);
}

const every = (interval: number, step: number): boolean => interval > 0 && step % interval === 0;

/** Records a finished step (state, evaluation, metrics) and reports it; returns its metrics. */
async function record(
  s: Session,
  method: TrainingMethod,
  step: number,
  result: Extract<StepResult, { status: 'done' }>,
): Promise<StepMetrics> {
  const { spec, state } = s;
  state.step = step;
  state.dataCursor += spec.hyperparameters.batch_size;
  state.trainedTokens += result.trainedTokens;
  state.optimizerStep = s.optimizer.step;
  const metrics = result.metrics;
  const evalDue = step === state.totalSteps || every(spec.hyperparameters.eval_interval, step);
  if (evalDue && method.evaluate) Object.assign(metrics, await method.evaluate(step));
  state.history.push({ step, metrics });
  await s.callbacks.onStep?.(step, state.totalSteps, metrics);
  for (const e of result.events ?? []) await s.callbacks.onEvent?.(e.level, e.message, e.data);
  if (result.samples && every(spec.sampleInterval, step)) await s.callbacks.onSamples?.(step, result.samples);
  return metrics;
}

/**
 * The one training loop: until the last step, honour control, let the method take a step on the next batch of the
 * shuffled data stream, record it, and checkpoint at the cadence. Ends in the final model, or a pause checkpoint, or
 * a cancellation; a resumed session continues from its state exactly.
 */
export async function runLoop(
  s: Session,
  method: TrainingMethod,
  examples: number,
): Promise<TrainingOutcome> {
  const { spec, state } = s;
  const stream = new DataStream(examples, spec.seed);
  await s.callbacks.onEvent?.(method.start.level, method.start.message, method.start.data);
  while (state.step < state.totalSteps) {
    const signal = control(s);
    if (signal === 'cancel') return outcome(s, 'cancelled', null);
    if (signal === 'pause') return await pause(s);
    const step = state.step + 1;
    const result = await method.step(step, stream.take(state.dataCursor, spec.hyperparameters.batch_size));
    if (result.status !== 'done')
      return result.status === 'cancel' ? outcome(s, 'cancelled', null) : pause(s);
    const metrics = await record(s, method, step, result);
    if (result.pauseRequested) return await pause(s);
    if (step < state.totalSteps && every(spec.checkpointInterval, step)) await saveStepCheckpoint(s, metrics);
  }
  return await finish(s);
}
