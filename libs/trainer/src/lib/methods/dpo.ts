import * as tf from '@tensorflow/tfjs-core';

import type { ChatMessage, ParsedLine } from '@tracetune/contracts';
import { contextLength, type TransformerModel } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import { TrainingError, type StepMetrics } from '../contract';
import { toSftExample } from '../data';
import { control, type StepResult, type TrainingMethod } from '../loop';
import { GradientAccumulator } from '../optimizer';
import { loadBaseModel } from '../policy';
import { completionLogProbs, packBatch, type PackedBatch, type PromptCompletion } from '../sequences';
import type { Session } from '../session';
import { learningRateAt } from '../settings';
import { now, type PrepareMethod } from './method';

/** A preference pair as token ids: the prompt, and each answer's tokens (its end-of-turn token included). */
export interface DpoPair {
  prompt: number[];
  chosen: number[];
  rejected: number[];
}

/** Pairs per micro-batch (each contributes two rows). */
const MICRO_PAIRS = 4;

/** The tokens `answer` adds after the rendered prompt, split at the first trained token (prompt turns untrained). */
function split(
  messages: readonly ChatMessage[],
  answer: ChatMessage,
  tokenizer: Tokenizer,
  maxTokens: number,
): { prompt: number[]; answer: number[] } {
  const untrained = messages.map((m) => ({ ...m, weight: 0 as const }));
  const ex = toSftExample([...untrained, { ...answer, weight: 1 }], tokenizer, maxTokens);
  const full = [ex.input[0] ?? ex.target[0], ...ex.target];
  const first = ex.lossMask.indexOf(1);
  if (first < 0) return { prompt: full, answer: [] };
  return { prompt: full.slice(0, first + 1), answer: full.slice(first + 1) };
}

/** Tokenises preference lines; an answer cut away entirely by the context is invalid_training_data. */
export function toDpoPairs(
  lines: readonly ParsedLine[],
  tokenizer: Tokenizer,
  maxTokens: number,
  param: string,
): DpoPair[] {
  return lines.map((line, i) => {
    const pair = line.preference;
    if (!pair)
      throw new TrainingError(
        'invalid_training_data',
        `${param} line ${i + 1} is not a preference pair`,
        param,
      );
    const chosen = split(line.messages, pair.chosen, tokenizer, maxTokens);
    const rejected = split(line.messages, pair.rejected, tokenizer, maxTokens);
    if (!chosen.answer.length || !rejected.answer.length)
      throw new TrainingError(
        'invalid_training_data',
        `${param} line ${i + 1}: the prompt fills the ${maxTokens}-token context, leaving no room for the answers`,
        param,
      );
    return { prompt: chosen.prompt, chosen: chosen.answer, rejected: rejected.answer };
  });
}

/** Rows [chosen₀, rejected₀, chosen₁, …] of a micro-batch of pairs. */
function packPairs(pairs: readonly DpoPair[]): PackedBatch {
  const rows: PromptCompletion[] = pairs.flatMap((p) => [
    { prompt: p.prompt, completion: p.chosen },
    { prompt: p.prompt, completion: p.rejected },
  ]);
  return packBatch(rows);
}

/** Σ log π(answer | prompt) per row [2P] (call inside a tidy or a gradient closure). */
function sequenceLogProbs(model: TransformerModel, packed: PackedBatch, training: boolean): tf.Tensor1D {
  const { logProbs } = completionLogProbs(model, packed, { training });
  return tf.sum(tf.mul(logProbs, tf.tensor2d(packed.completionMask)), 1) as tf.Tensor1D;
}

/** Per-pair numbers of one micro-batch, for the metrics (TRL DPOTrainer's names). */
interface PairStats {
  loss: number[];
  chosen: number[];
  rejected: number[];
  logpChosen: number[];
  logpRejected: number[];
}

const emptyStats = (): PairStats => ({
  loss: [],
  chosen: [],
  rejected: [],
  logpChosen: [],
  logpRejected: [],
});

/**
 * TRL's sigmoid DPO loss on one micro-batch: −log σ(β·((π_c − ref_c) − (π_r − ref_r))) per pair, mean over the
 * pairs times `share` (the micro-batch's share of the batch). `ref` holds the reference's Σ log-probs per row.
 */
function dpoLoss(
  model: TransformerModel,
  packed: PackedBatch,
  ref: Float32Array,
  beta: number,
  share: number,
  training: boolean,
  out: { policy?: tf.Tensor1D },
): tf.Scalar {
  const policy = sequenceLogProbs(model, packed, training); // [2P]
  out.policy = tf.keep(policy);
  const ratios = tf.sub(policy, tf.tensor1d(ref)); // log π − log π_ref per row
  const pairs = tf.reshape(ratios, [-1, 2]); // [P, 2]: chosen, rejected
  const [c, r] = tf.split(pairs, 2, 1);
  const logits = tf.mul(tf.sub(c, r), beta);
  // −log σ(z) = softplus(−z) (tfjs' logSigmoid gradient fails on wasm; forms through |z| have no gradient at z = 0,
  // where every run starts).
  const losses = tf.softplus(tf.neg(logits));
  return tf.mul(tf.mean(losses), share) as tf.Scalar;
}

function addStats(stats: PairStats, policy: Float32Array, ref: Float32Array, beta: number): void {
  for (let i = 0; i < policy.length; i += 2) {
    const chosen = beta * (policy[i] - ref[i]);
    const rejected = beta * (policy[i + 1] - ref[i + 1]);
    stats.chosen.push(chosen);
    stats.rejected.push(rejected);
    stats.logpChosen.push(policy[i]);
    stats.logpRejected.push(policy[i + 1]);
    stats.loss.push(Math.log1p(Math.exp(-(chosen - rejected))));
  }
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

function statsMetrics(s: PairStats, prefix = ''): StepMetrics {
  const margins = s.chosen.map((c, i) => c - s.rejected[i]);
  return {
    [`${prefix}loss`]: mean(s.loss),
    [`${prefix}rewards/chosen`]: mean(s.chosen),
    [`${prefix}rewards/rejected`]: mean(s.rejected),
    [`${prefix}rewards/accuracies`]: mean(margins.map((m) => (m > 0 ? 1 : 0))),
    [`${prefix}rewards/margins`]: mean(margins),
    [`${prefix}logps/chosen`]: mean(s.logpChosen),
    [`${prefix}logps/rejected`]: mean(s.logpRejected),
  };
}

interface DpoRun {
  train: DpoPair[];
  valid: DpoPair[];
  reference: TransformerModel;
  beta: number;
}

/** The reference's Σ log-probs per row of a micro-batch (no gradient). */
function referenceLogProbs(reference: TransformerModel, packed: PackedBatch): Float32Array {
  const t = tf.tidy(() => sequenceLogProbs(reference, packed, false));
  const out = t.dataSync() as Float32Array;
  t.dispose();
  return out;
}

/** One step: gradients of the batch's mean DPO loss over micro-batches, clipped, one AdamW update. */
async function dpoStep(
  s: Session,
  run: DpoRun,
  step: number,
  indices: readonly number[],
): Promise<StepResult> {
  const t0 = now();
  const batch = indices.map((i) => run.train[i]);
  const grads = new GradientAccumulator();
  const stats = emptyStats();
  const vars = s.trainables.map((t) => t.variable);
  let tokens = 0;
  try {
    for (let i = 0; i < batch.length; i += MICRO_PAIRS) {
      const signal = control(s);
      if (signal !== 'continue') return { status: signal };
      const part = batch.slice(i, i + MICRO_PAIRS);
      const packed = packPairs(part);
      tokens += packed.tokens;
      const ref = referenceLogProbs(run.reference, packed);
      const out: { policy?: tf.Tensor1D } = {};
      const { value, grads: g } = tf.variableGrads(
        () => dpoLoss(s.model, packed, ref, run.beta, part.length / batch.length, true, out),
        vars,
      );
      const v = value.dataSync()[0];
      value.dispose();
      const policy = out.policy as tf.Tensor1D;
      addStats(stats, policy.dataSync() as Float32Array, ref, run.beta);
      policy.dispose();
      if (!Number.isFinite(v)) {
        tf.dispose(g);
        throw TrainingError.nonFinite('loss', v, step, ': lower the learning rate or check the data');
      }
      grads.add(g, s.names);
    }
    const norm = grads.globalNorm();
    if (!Number.isFinite(norm)) throw TrainingError.nonFinite('gradient norm', norm, step, '');
    const clipped = norm > s.settings.maxGradNorm;
    if (clipped) grads.scale(s.settings.maxGradNorm / (norm + 1e-6));
    const lr = learningRateAt(s.optimizer.step, s.state.totalSteps, s.peakLr, s.settings);
    s.optimizer.apply(grads.grads, lr);
    s.pool?.publish();
    const elapsed = Math.max(1e-9, now() - t0);
    const metrics: StepMetrics = {
      ...statsMetrics(stats),
      train_loss: mean(stats.loss),
      learning_rate: lr,
      grad_norm: norm,
      grad_clipped: clipped ? 1 : 0,
      trained_tokens: tokens,
      tokens_per_second: tokens / elapsed,
      step_time: elapsed,
    };
    return { status: 'done', metrics, trainedTokens: tokens, pauseRequested: false };
  } finally {
    grads.dispose();
  }
}

/** The DPO metrics of the validation pairs (no gradient), prefixed `eval_`. */
function evaluateDpo(s: Session, run: DpoRun): StepMetrics {
  const stats = emptyStats();
  for (let i = 0; i < run.valid.length; i += MICRO_PAIRS) {
    const packed = packPairs(run.valid.slice(i, i + MICRO_PAIRS));
    const ref = referenceLogProbs(run.reference, packed);
    const policy = tf.tidy(() => sequenceLogProbs(s.model, packed, false));
    addStats(stats, policy.dataSync() as Float32Array, ref, run.beta);
    policy.dispose();
  }
  return statsMetrics(stats, 'eval_');
}

/**
 * Direct preference optimisation (TRL DPOTrainer's sigmoid loss) on preference pairs: opening loads the reference
 * (the base model, frozen) and tokenises the pairs. Runs on the main thread (training threads, when the run has them,
 * get the updated weights after every step but take no part in DPO).
 */
export const prepareDpo: PrepareMethod = (spec, data, settings) => {
  const beta = spec.dpo?.beta;
  if (!(typeof beta === 'number' && beta > 0))
    throw new TrainingError('invalid_config', 'DPO needs beta > 0', 'method.dpo.hyperparameters.beta');
  let reference: TransformerModel | null = null;
  return {
    open(s): TrainingMethod {
      reference = loadBaseModel(spec.baseModel, spec.seed).model;
      const maxTokens = Math.min(settings.maxSequenceTokens, contextLength(s.model.config));
      const run: DpoRun = {
        train: toDpoPairs(data.train, s.tokenizer, maxTokens, 'training_file'),
        valid: toDpoPairs(data.valid, s.tokenizer, maxTokens, 'validation_file').slice(
          0,
          settings.maxEvalExamples > 0 ? settings.maxEvalExamples : undefined,
        ),
        reference,
        beta,
      };
      return {
        start: {
          level: 'info',
          message: `DPO: ${s.state.totalSteps} steps of ${spec.hyperparameters.batch_size} pairs, β ${beta}, peak LR ${s.peakLr}`,
          data: { totalSteps: s.state.totalSteps, beta },
        },
        step: (step, indices) => dpoStep(s, run, step, indices),
        evaluate: run.valid.length > 0 ? async () => evaluateDpo(s, run) : null,
      };
    },
    dispose() {
      reference?.dispose();
    },
  };
};
