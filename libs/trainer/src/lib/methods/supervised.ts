import * as tf from '@tensorflow/tfjs-core';

import type { ParsedLine } from '@tracetune/contracts';
import { contextLength } from '@tracetune/model';

import { TrainingError } from '../contract';
import { checkToolSupport, toSftExample, type SftExample } from '../data';
import { control, type StepResult, type TrainingMethod } from '../loop';
import { GradientAccumulator } from '../optimizer';
import type { TrainerPool } from '../parallel/pool';
import type { SftPartGradient } from '../parallel/protocol';
import type { Session } from '../session';
import { learningRateAt } from '../settings';
import { sftEvalLoss, sftLoss, trainedTokenCount } from '../sft';
import { now, type PrepareMethod } from './method';

/**
 * Σ of the micro-batch losses of `batch` into `grads` (each normalised by the batch's trained tokens, so they add up
 * to its token mean). Control is checked before every micro-batch; returns the loss, or the signal that stopped it.
 */
async function accumulate(
  s: Session,
  batch: readonly SftExample[],
  micro: number,
  step: number,
  grads: GradientAccumulator,
): Promise<number | 'cancel' | 'pause'> {
  const normaliser = trainedTokenCount(batch);
  const vars = s.trainables.map((t) => t.variable);
  let loss = 0;
  for (let i = 0; i < batch.length; i += micro) {
    const part = batch.slice(i, i + micro);
    if (trainedTokenCount(part) === 0) continue;
    const signal = control(s);
    if (signal !== 'continue') return signal;
    const { value, grads: g } = tf.variableGrads(() => sftLoss(s.model, part, normaliser, true), vars);
    const v = value.dataSync()[0];
    value.dispose();
    if (!Number.isFinite(v)) {
      tf.dispose(g);
      throw TrainingError.nonFinite('loss', v, step, ': lower the learning rate or check the data');
    }
    loss += v;
    grads.add(g, s.names);
  }
  return loss;
}

/** Cuts `batch` into parts of at most `micro` examples that carry loss (threads: at least one part per thread). */
function partsOf(batch: readonly SftExample[], micro: number): SftExample[][] {
  const parts: SftExample[][] = [];
  for (let i = 0; i < batch.length; i += micro) parts.push(batch.slice(i, i + micro));
  return parts.filter((p) => trainedTokenCount(p) > 0);
}

/** `accumulate` on the training threads: parts of the batch spread over them, added back in the parts' order. */
async function accumulateOnThreads(
  s: Session,
  pool: TrainerPool,
  batch: readonly SftExample[],
  micro: number,
  step: number,
  grads: GradientAccumulator,
): Promise<number | 'cancel' | 'pause'> {
  const signal = control(s);
  if (signal !== 'continue') return signal;
  const parts = partsOf(batch, Math.max(1, Math.min(micro, Math.ceil(batch.length / pool.size))));
  const normaliser = trainedTokenCount(batch);
  const results = await pool.spread<SftExample[], SftPartGradient>(parts, (block) => ({
    type: 'sft-grads',
    parts: block,
    normaliser,
  }));
  let loss = 0;
  for (const r of results) {
    if (!Number.isFinite(r.loss))
      throw TrainingError.nonFinite('loss', r.loss, step, ': lower the learning rate or check the data');
    loss += r.loss;
    grads.add(pool.gradientTensors(r.grads), s.names);
  }
  return loss;
}

/** Token-mean NLL of the validation set, its parts spread over the training threads. */
async function evalLossOnThreads(
  pool: TrainerPool,
  examples: readonly SftExample[],
  micro: number,
): Promise<number> {
  const parts = partsOf(examples, Math.max(1, Math.min(micro, Math.ceil(examples.length / pool.size))));
  const losses = await pool.spread<SftExample[], number>(parts, (block) => ({
    type: 'sft-eval',
    parts: block,
    normaliser: trainedTokenCount(examples),
  }));
  return losses.reduce((a, b) => a + b, 0);
}

/** Token-mean cross-entropy on assistant tokens, accumulated over micro-batches, clipped, one AdamW update. */
async function supervisedStep(
  s: Session,
  train: readonly SftExample[],
  micro: number,
  step: number,
  indices: readonly number[],
): Promise<StepResult> {
  const t0 = now();
  const batch = indices.map((i) => train[i]);
  const grads = new GradientAccumulator();
  try {
    const loss = s.pool
      ? await accumulateOnThreads(s, s.pool, batch, micro, step, grads)
      : await accumulate(s, batch, micro, step, grads);
    if (typeof loss !== 'number') return { status: loss };
    const norm = grads.globalNorm();
    if (!Number.isFinite(norm)) throw TrainingError.nonFinite('gradient norm', norm, step, '');
    if (norm > s.settings.maxGradNorm) grads.scale(s.settings.maxGradNorm / (norm + 1e-6));
    const lr = learningRateAt(s.optimizer.step, s.state.totalSteps, s.peakLr, s.settings);
    s.optimizer.apply(grads.grads, lr);
    s.pool?.publish();
    const t1 = now();
    const tokens = batch.reduce((a, e) => a + e.input.length + 1, 0);
    const metrics = {
      train_loss: loss,
      loss,
      learning_rate: lr,
      grad_norm: norm,
      trained_tokens: tokens,
      loss_tokens: trainedTokenCount(batch),
      tokens_per_second: tokens / Math.max(1e-9, t1 - t0),
      step_time: t1 - t0,
    };
    return { status: 'done', metrics, trainedTokens: tokens, pauseRequested: false };
  } finally {
    grads.dispose();
  }
}

/** Supervised fine-tuning on chat examples: opening tokenises them with the session's tokenizer. */
export const prepareSupervised: PrepareMethod = (spec, data, settings) => ({
  open(s): TrainingMethod {
    const maxTokens = Math.min(settings.maxSequenceTokens, contextLength(s.model.config));
    const toExample = (line: ParsedLine, where: string): SftExample => {
      checkToolSupport(s.tokenizer, line.messages, line.tools, where);
      return toSftExample(line.messages, s.tokenizer, maxTokens, line.tools);
    };
    const train = data.train.map((l, i) => toExample(l, `training_file line ${l.line ?? i + 1}`));
    const valid = data.valid.map((l, i) => toExample(l, `validation_file line ${l.line ?? i + 1}`));
    const evalSet = settings.maxEvalExamples > 0 ? valid.slice(0, settings.maxEvalExamples) : valid;
    const batchSize = spec.hyperparameters.batch_size;
    const micro = settings.sftMicroBatchSize > 0 ? settings.sftMicroBatchSize : batchSize;
    return {
      start: {
        level: 'info',
        message: `Supervised fine-tuning: ${s.state.totalSteps} steps of ${batchSize} examples, peak LR ${s.peakLr}`,
        data: { totalSteps: s.state.totalSteps },
      },
      step: (step, indices) => supervisedStep(s, train, micro, step, indices),
      evaluate:
        evalSet.length > 0
          ? async () => ({
              eval_loss: s.pool
                ? await evalLossOnThreads(s.pool, evalSet, micro)
                : sftEvalLoss(s.model, evalSet, micro),
            })
          : null,
    };
  },
  dispose: () => undefined,
});
