import * as tf from '@tensorflow/tfjs-core';

import {
  RL_SETTING_FIELDS,
  rlSettings,
  type ResolvedAlgorithm,
  type ResolvedHyperparameters,
} from '@tracetune/contracts';
import type { Grader } from '@tracetune/graders';
import { generate, type TransformerModel } from '@tracetune/model';
import {
  computePolicyLoss,
  createRlConfig,
  GRPO_LAMBDA_DEFAULTS,
  RlConfigError,
  type PolicyLossStats,
  type RlConfig,
} from '@tracetune/rl-core';
import type { Tokenizer } from '@tracetune/tokenizer';

import { TrainingError, type ControlSignal } from './contract';
import type { RlExample } from './data';
import { gradeAll, type GradedSample } from './grading';
import { AdamW, GradientAccumulator, type NamedVariable } from './optimizer';
import type { TrainerPool } from './parallel/pool';
import type { RlShardGradient, SampledRow, ShardBatch } from './parallel/protocol';
import { mergeShardStats, shardRanges, shardShares, type ShardShare } from './parallel/shards';
import { streamSeed } from './seeds';
import { completionLogProbs, packBatch } from './sequences';

/**
 * The job's algorithm → rl-core's config, through the mapping of libs/contracts (`rlSettings`) that the api
 * validates at the edge with the same rules. A problem is `invalid_config` naming the job setting at fault.
 */
export function rlConfigFor(
  algorithm: ResolvedAlgorithm,
  hyperparameters: Pick<ResolvedHyperparameters, 'compute_multiplier'>,
): RlConfig {
  try {
    return createRlConfig(rlSettings(algorithm, hyperparameters), GRPO_LAMBDA_DEFAULTS);
  } catch (e) {
    if (!(e instanceof RlConfigError)) throw e;
    const field = RL_SETTING_FIELDS[e.problems[0].key as keyof typeof RL_SETTING_FIELDS];
    const param = field ? `method.reinforcement.algorithm.${field}` : 'method.reinforcement.algorithm';
    throw new TrainingError('invalid_config', e.message, param);
  }
}

/** One sampled completion with its old-policy log-probs and grade. */
export interface Rollout {
  group: number;
  prompt: readonly number[];
  promptText: string;
  tokens: number[];
  logpOld: number[];
  text: string;
  clipped: boolean;
  graded: GradedSample;
}

export interface SamplingSettings {
  groupSize: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  /** The step's sampling seed; each group draws from its own seeds derived from it and the group's index. */
  seed: number;
  /** Index in the step's batch of the first prompt given (a thread samples a block of the batch's groups). */
  groupOffset?: number;
  /** The step being sampled, named in the error when the model's logits are not finite. */
  step?: number;
}

/** The seed of completion `j` of group `group`: randomness belongs to the group, never to who samples it. */
export function completionSeed(seed: number, group: number, j: number): number {
  return streamSeed(streamSeed(seed, group, 'sampling'), j, 'sampling');
}

/** Throws non_finite_loss on NaN/+∞ logits (a diverged model), which would otherwise fail inside the sampler. */
function finiteLogitsGuard(step: number | undefined): (sequence: number, logits: Float32Array) => void {
  return (_sequence, logits) => {
    for (let i = 0; i < logits.length; i++) {
      const x = logits[i];
      if (Number.isNaN(x) || x === Infinity) {
        const where = step === undefined ? 'during evaluation' : `at step ${step}`;
        throw new TrainingError(
          'non_finite_loss',
          `Non-finite logits while sampling ${where}: the weights have diverged (lower the learning rate)`,
          null,
          step ?? null,
        );
      }
    }
  };
}

/** A prompt to sample for. */
export type SamplePrompt = Pick<RlExample, 'promptTokens' | 'promptText'>;

/**
 * G completions per prompt in one generate call; completion j of group g draws from `completionSeed(seed, g, j)`, so
 * its tokens do not depend on which other groups share the call. Groups are numbered from `groupOffset`.
 */
export function sampleGroups(
  model: TransformerModel,
  tokenizer: Tokenizer,
  examples: readonly SamplePrompt[],
  s: SamplingSettings,
): Omit<Rollout, 'graded'>[] {
  const offset = s.groupOffset ?? 0;
  const prompts = examples.flatMap((e) => Array.from({ length: s.groupSize }, () => e.promptTokens));
  const completions = generate(model, prompts, {
    maxNewTokens: s.maxNewTokens,
    temperature: s.temperature,
    topP: s.topP,
    tokenizer,
    // Old-policy log-probs under the distribution the tokens were drawn from (TRL, verl): the trainer scores at the
    // same temperature, so the ratio starts at exactly 1.
    logprobTemperature: s.temperature,
    seeds: prompts.map((_, i) =>
      completionSeed(s.seed, offset + Math.floor(i / s.groupSize), i % s.groupSize),
    ),
    logitsProcessor: finiteLogitsGuard(s.step),
  });
  return completions.map((c, i) => {
    const local = Math.floor(i / s.groupSize);
    return {
      group: offset + local,
      prompt: examples[local].promptTokens,
      promptText: examples[local].promptText,
      tokens: c.tokens,
      logpOld: c.logProbs,
      text: c.text ?? tokenizer.decode(c.tokens, { skipSpecialTokens: true }),
      clipped: c.finishReason === 'length',
    };
  });
}

/** Samples G completions per prompt: on the calling thread, or spread over the training threads. */
export type Sampler = (
  examples: readonly SamplePrompt[],
  settings: SamplingSettings,
) => Promise<Omit<Rollout, 'graded'>[]>;

export function localSampler(model: TransformerModel, tokenizer: Tokenizer): Sampler {
  return async (examples, settings) => sampleGroups(model, tokenizer, examples, settings);
}

/** Blocks of whole groups per thread; each group's seeds are its own, so the rows equal the local sampler's. */
export function threadSampler(pool: TrainerPool): Sampler {
  return async (examples, settings) => {
    const offset = settings.groupOffset ?? 0;
    const rows = await pool.spread<SamplePrompt, SampledRow>(examples, (block, first) => ({
      type: 'sample',
      prompts: block.map((e) => ({ promptTokens: e.promptTokens, promptText: e.promptText })),
      settings: { ...settings, groupOffset: offset + first },
    }));
    return rows.map((r) => {
      const e = examples[r.group - offset];
      return { ...r, prompt: e.promptTokens, promptText: e.promptText };
    });
  };
}

export async function gradeRollouts(
  grader: Grader,
  examples: readonly RlExample[],
  sampled: readonly Omit<Rollout, 'graded'>[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<Rollout[]> {
  const graded = await gradeAll(
    grader,
    sampled.map((r) => ({ text: r.text, item: examples[r.group].item })),
    concurrency,
    signal,
  );
  return sampled.map((r, i) => ({ ...r, graded: graded[i] }));
}

/** A run of whole groups of a micro-batch that one thread differentiates, and its share of the micro-batch. */
export interface RlShard {
  batch: ShardBatch;
  share: ShardShare;
}

/** Whole groups of rollouts, packed for the model, plus the loss inputs rl-core needs. */
export interface RlMicroBatch extends ShardBatch {
  /** With training threads: its gradient shards, in reduction order (null on the in-process path). */
  shards: RlShard[] | null;
}

function padRows(rows: readonly (readonly number[])[], width: number): number[][] {
  return rows.map((r) => [...r, ...new Array<number>(width - r.length).fill(0)]);
}

function packRows(rows: readonly Rollout[]): ShardBatch {
  const packed = packBatch(rows.map((r) => ({ prompt: r.prompt, completion: r.tokens })));
  return {
    packed,
    logpOld: padRows(
      rows.map((r) => r.logpOld),
      packed.completionLength,
    ),
    logpRef: null,
    rewards: rows.map((r) => r.graded.reward),
    groupIds: rows.map((r) => r.group),
  };
}

/** A micro-batch's rows cut into at most `parts` shards of whole groups, with their shares of its loss. */
function shardsOf(rows: readonly Rollout[], parts: number, config: RlConfig): RlShard[] {
  const groupIds = rows.map((r) => r.group);
  const ranges = shardRanges(groupIds, parts, config);
  const shares = shardShares(
    { rewards: rows.map((r) => r.graded.reward), groupIds, lengths: rows.map((r) => r.tokens.length) },
    ranges,
    config,
  );
  return ranges.map(([a, b], k) => ({ batch: packRows(rows.slice(a, b)), share: shares[k] }));
}

/**
 * Splits rollouts into micro-batches of `promptsPerMicro` whole groups (rl-core normalises advantages per group);
 * with `split` (training threads) each is also cut into gradient shards for the threads.
 */
export function buildMicroBatches(
  rollouts: readonly Rollout[],
  promptsPerMicro: number,
  split: { parts: number; config: RlConfig } | null = null,
): RlMicroBatch[] {
  const groups = [...new Set(rollouts.map((r) => r.group))].sort((a, b) => a - b);
  const out: RlMicroBatch[] = [];
  for (let g = 0; g < groups.length; g += promptsPerMicro) {
    const ids = new Set(groups.slice(g, g + promptsPerMicro));
    const rows = rollouts.filter((r) => ids.has(r.group));
    out.push({ ...packRows(rows), shards: split ? shardsOf(rows, split.parts, split.config) : null });
  }
  return out;
}

/** Fills each micro-batch's reference log-probs (no gradient), under the sampling temperature. */
export function attachReference(
  reference: TransformerModel,
  micros: RlMicroBatch[],
  temperature: number,
): void {
  for (const mb of micros) {
    const logp = completionLogProbs(reference, mb.packed, { temperature }).logProbs;
    mb.logpRef = logp.arraySync();
    logp.dispose();
  }
}

/** Fills the reference log-probs of every gradient shard on the training threads. */
export async function attachReferenceOnThreads(
  pool: TrainerPool,
  micros: RlMicroBatch[],
  temperature: number,
): Promise<void> {
  const shards = micros.flatMap((mb) => mb.shards ?? []);
  const logps = await pool.spread<RlShard, number[][]>(shards, (block) => ({
    type: 'reference',
    temperature,
    batches: block.map((s) => s.batch.packed),
  }));
  shards.forEach((s, i) => (s.batch.logpRef = logps[i]));
}

/**
 * rl-core's loss on one micro-batch; call inside a gradient closure (or a tidy). Log-probs (and the entropy) are
 * those of the sampling distribution, softmax(logits / temperature), as TRL and verl score them.
 */
export function microBatchLoss(
  model: TransformerModel,
  mb: ShardBatch,
  config: RlConfig,
  options: { training?: boolean; entropy?: boolean; temperature?: number } = {},
): { result: ReturnType<typeof computePolicyLoss>; entropySum: tf.Scalar | null } {
  const { logProbs, entropy } = completionLogProbs(model, mb.packed, {
    training: options.training,
    entropy: options.entropy,
    temperature: options.temperature,
  });
  const mask = tf.tensor2d(mb.packed.completionMask) as tf.Tensor2D;
  const result = computePolicyLoss(
    {
      logpNew: logProbs,
      logpOld: tf.tensor2d(mb.logpOld),
      logpRef: mb.logpRef ? tf.tensor2d(mb.logpRef) : null,
      completionMask: mask,
      groupIds: mb.groupIds,
      rewards: mb.rewards,
    },
    config,
  );
  const entropySum = entropy ? (tf.keep(tf.sum(tf.mul(entropy, mask))) as tf.Scalar) : null;
  return { result, entropySum };
}

/** The objective on a batch without updating anything (tests, diagnostics): weighted mean over micro-batches. */
export async function evaluateObjective(
  model: TransformerModel,
  micros: readonly RlMicroBatch[],
  config: RlConfig,
  temperature = 1,
): Promise<number> {
  const total = micros.reduce((s, m) => s + m.packed.rows, 0);
  let loss = 0;
  for (const mb of micros) {
    const inner: { result?: ReturnType<typeof computePolicyLoss> } = {};
    const value = tf.tidy(() => {
      inner.result = microBatchLoss(model, mb, config, { temperature }).result;
      return inner.result.loss;
    });
    const stats = await (inner.result as ReturnType<typeof computePolicyLoss>).readStats();
    value.dispose();
    loss += (stats.loss * mb.packed.rows) / total;
  }
  return loss;
}

export interface UpdateContext {
  model: TransformerModel;
  trainables: readonly NamedVariable[];
  /** tfjs variable name → stable name. */
  names: ReadonlyMap<string, string>;
  optimizer: AdamW;
  config: RlConfig;
  ppoEpochs: number;
  maxGradNorm: number;
  /** The sampling temperature: the loss scores log-probs under it. */
  temperature: number;
  /** LR of optimiser update t (0-based, counted over the whole run). */
  learningRate(update: number): number;
  control(): ControlSignal;
  step: number;
  /** Called before each optimisation pass (0-based), with the model as that pass sees it. */
  beforePass?(pass: number): void;
  /** Training threads: micro-batches carry shards, the threads differentiate them, weights are published after. */
  pool?: TrainerPool | null;
}

export interface UpdateStats {
  /** Micro-batch statistics, sequence-weighted over every pass. */
  loss: number;
  policyLoss: number;
  kl: number;
  clipRatio: number;
  /** From the first (on-policy) pass. */
  entropy: number;
  traceWeightMean: number;
  advantageMean: number;
  advantageStd: number;
  advantageClampedFraction: number;
  zeroStdGroupFraction: number;
  gradNorm: number;
  gradNormMax: number;
  /** Fraction of the updates whose gradient norm exceeded `maxGradNorm` (and was scaled down to it). */
  gradClippedFraction: number;
  learningRate: number;
  updates: number;
}

export type UpdateOutcome =
  | { status: 'done'; stats: UpdateStats; pauseRequested: boolean }
  | { status: 'cancel' | 'pause' };

/** Sums of micro-batch statistics, each weighted by its share of the batch's sequences. */
class UpdateTally {
  private readonly all = { loss: 0, policyLoss: 0, kl: 0, clip: 0, weight: 0 };
  // Statistics of the first (on-policy) pass.
  private readonly first = { entropySum: 0, traceWeighted: 0, advMean: 0, advStd: 0, clamped: 0, zeroStd: 0 };
  readonly norms: number[] = [];
  clipped = 0;
  firstLr = 0;
  applied = 0;

  add(stats: PolicyLossStats, share: number, entropySum: number | null): void {
    const a = this.all;
    a.loss += stats.loss * share;
    a.policyLoss += stats.policyLoss * share;
    a.kl += (stats.klMean ?? 0) * share;
    a.clip += stats.clipFraction * share;
    a.weight += share;
    if (entropySum === null) return;
    const f = this.first;
    f.entropySum += entropySum;
    f.traceWeighted += stats.traceWeightMean * stats.tokens;
    f.advMean += stats.advantageMean * share;
    f.advStd += stats.advantageStd * share;
    f.clamped += stats.advantageClampedFraction * share;
    f.zeroStd += stats.zeroStdGroupFraction * share;
  }

  stats(totalTokens: number): UpdateStats {
    const { all: a, first: f } = this;
    const passes = Math.max(a.weight, 1e-12);
    return {
      loss: a.loss / passes,
      policyLoss: a.policyLoss / passes,
      kl: a.kl / passes,
      clipRatio: a.clip / passes,
      entropy: totalTokens ? f.entropySum / totalTokens : 0,
      traceWeightMean: totalTokens ? f.traceWeighted / totalTokens : 0,
      advantageMean: f.advMean,
      advantageStd: f.advStd,
      advantageClampedFraction: f.clamped,
      zeroStdGroupFraction: f.zeroStd,
      gradNorm: this.norms.reduce((x, y) => x + y, 0) / Math.max(1, this.norms.length),
      gradNormMax: Math.max(0, ...this.norms),
      gradClippedFraction: this.clipped / Math.max(1, this.norms.length),
      learningRate: this.firstLr,
      updates: this.applied,
    };
  }
}

/** The loss of one micro-batch (times its share) into `grads`; its statistics into `tally`. */
async function accumulateMicroBatch(
  ctx: UpdateContext,
  mb: RlMicroBatch,
  share: number,
  onPolicy: boolean,
  grads: GradientAccumulator,
  tally: UpdateTally,
): Promise<void> {
  const vars = ctx.trainables.map((t) => t.variable);
  // Set inside the gradient closure, which runs synchronously.
  const inner: { loss?: ReturnType<typeof microBatchLoss> } = {};
  const { value, grads: g } = tf.variableGrads(() => {
    inner.loss = microBatchLoss(ctx.model, mb, ctx.config, {
      training: true,
      entropy: onPolicy,
      temperature: ctx.temperature,
    });
    return tf.mul(inner.loss.result.loss, share) as tf.Scalar;
  }, vars);
  value.dispose();
  const { result, entropySum } = inner.loss as ReturnType<typeof microBatchLoss>;
  const stats = await result.readStats();
  if (!Number.isFinite(stats.loss)) {
    tf.dispose(g);
    entropySum?.dispose();
    throw TrainingError.nonFinite(
      'loss',
      stats.loss,
      ctx.step,
      ': lower the learning rate or check the data',
    );
  }
  grads.add(g, ctx.names);
  tally.add(stats, share, onPolicy ? (entropySum ? entropySum.dataSync()[0] : 0) : null);
  entropySum?.dispose();
}

/**
 * One pass's gradients on the training threads: every shard's (scaled by its micro-batch's share of sequences and
 * its own share of the micro-batch loss) is added in shard order, whichever thread computed it.
 */
async function accumulateOnThreads(
  ctx: UpdateContext,
  pool: TrainerPool,
  micros: readonly RlMicroBatch[],
  totalRows: number,
  onPolicy: boolean,
  grads: GradientAccumulator,
  tally: UpdateTally,
): Promise<void> {
  const items = micros.flatMap((mb) =>
    (mb.shards ?? []).map((s) => ({ batch: s.batch, scale: (mb.packed.rows / totalRows) * s.share.weight })),
  );
  const results = await pool.spread<(typeof items)[number], RlShardGradient>(items, (block) => ({
    type: 'rl-grads',
    shards: block,
    onPolicy,
    temperature: ctx.temperature,
  }));
  let k = 0;
  for (const mb of micros) {
    const parts = (mb.shards ?? []).map((s) => ({ share: s.share, ...results[k++] }));
    const stats = mergeShardStats(parts);
    if (!Number.isFinite(stats.loss))
      throw TrainingError.nonFinite(
        'loss',
        stats.loss,
        ctx.step,
        ': lower the learning rate or check the data',
      );
    for (const p of parts) grads.add(pool.gradientTensors(p.grads), ctx.names);
    const entropy = parts.reduce((a, p) => a + (p.entropySum ?? 0), 0);
    tally.add(stats, mb.packed.rows / totalRows, onPolicy ? entropy : null);
  }
}

/** Control before a pass on the threads (they take a whole pass at once): same rules as between micro-batches. */
function passSignal(ctx: UpdateContext, tally: UpdateTally): 'cancel' | 'pause' | 'pause-after' | null {
  const signal = ctx.control();
  if (signal === 'cancel') return 'cancel';
  if (signal === 'pause') return tally.applied === 0 ? 'pause' : 'pause-after';
  return null;
}

/** Clips the accumulated gradient by global norm and applies one AdamW update. */
function applyUpdate(ctx: UpdateContext, grads: GradientAccumulator, tally: UpdateTally): void {
  const norm = grads.globalNorm();
  if (!Number.isFinite(norm))
    throw TrainingError.nonFinite('gradient norm', norm, ctx.step, ': lower the learning rate');
  tally.norms.push(norm);
  if (norm > ctx.maxGradNorm) {
    grads.scale(ctx.maxGradNorm / (norm + 1e-6));
    tally.clipped++;
  }
  const lr = ctx.learningRate(ctx.optimizer.step);
  if (tally.applied === 0) tally.firstLr = lr;
  ctx.optimizer.apply(grads.grads, lr);
  tally.applied++;
}

/**
 * μ passes of rl-core's clipped objective over the micro-batches; each pass accumulates gradients over all
 * micro-batches (weighted by their share of sequences, so the sum is the batch's sequence mean), clips by global
 * norm and takes one AdamW step. Control is checked before every micro-batch: 'cancel' stops at once; 'pause'
 * stops at once while no update of this step has been applied (the model is still at the last completed step),
 * else the step finishes and the caller pauses after it.
 */
export async function optimiseRl(
  ctx: UpdateContext,
  micros: readonly RlMicroBatch[],
): Promise<UpdateOutcome> {
  const totalRows = micros.reduce((s, m) => s + m.packed.rows, 0);
  const totalTokens = micros.reduce(
    (s, m) => s + m.packed.completionMask.flat().reduce((a, b) => a + b, 0),
    0,
  );
  const tally = new UpdateTally();
  let pauseRequested = false;
  for (let pass = 0; pass < ctx.ppoEpochs; pass++) {
    ctx.beforePass?.(pass);
    const grads = new GradientAccumulator();
    try {
      if (ctx.pool) {
        const signal = passSignal(ctx, tally);
        if (signal === 'cancel' || signal === 'pause') return { status: signal };
        pauseRequested ||= signal === 'pause-after';
        await accumulateOnThreads(ctx, ctx.pool, micros, totalRows, pass === 0, grads, tally);
        applyUpdate(ctx, grads, tally);
        ctx.pool.publish();
        continue;
      }
      for (const mb of micros) {
        const signal = ctx.control();
        if (signal === 'cancel') return { status: 'cancel' };
        if (signal === 'pause') {
          if (tally.applied === 0) return { status: 'pause' };
          pauseRequested = true;
        }
        await accumulateMicroBatch(ctx, mb, mb.packed.rows / totalRows, pass === 0, grads, tally);
      }
      applyUpdate(ctx, grads, tally);
    } finally {
      grads.dispose();
    }
  }
  return { status: 'done', pauseRequested, stats: tally.stats(totalTokens) };
}
