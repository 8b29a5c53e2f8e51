import { groupSize as groupSizeOf, type ResolvedAlgorithm } from '@tracetune/contracts';
import { createGrader, GradingAbortedError, type Grader } from '@tracetune/graders';
import type { TransformerModel } from '@tracetune/model';
import { mean, stdModes, type RlConfig } from '@tracetune/rl-core';

import { TrainingError, type SampleCompletion, type StepMetrics } from '../contract';
import { toRlExamples, type RlExample } from '../data';
import { evaluateRl } from '../evaluate';
import { abortOnControl, rewardMeans } from '../grading';
import { control, type StepEvent, type StepResult, type TrainingMethod } from '../loop';
import { loadBaseModel } from '../policy';
import {
  attachReference,
  attachReferenceOnThreads,
  buildMicroBatches,
  gradeRollouts,
  localSampler,
  optimiseRl,
  rlConfigFor,
  threadSampler,
  type RlMicroBatch,
  type Rollout,
  type Sampler,
  type UpdateStats,
} from '../rl';
import { clipMarks, detailedRollouts, rolloutAdvantages, sampleLog } from '../sample-log';
import { streamSeed } from '../seeds';
import type { Session } from '../session';
import { learningRateAt } from '../settings';
import { firstErrorLine } from '../tasks';
import { now, type PrepareMethod } from './method';

/** What a reinforcement run holds besides the session: its data, grader, loss config and optional reference. */
interface RlRun {
  algorithm: ResolvedAlgorithm;
  config: RlConfig;
  grader: Grader;
  groupSize: number;
  train: RlExample[];
  valid: RlExample[];
  reference: TransformerModel | null;
  /** Samples on the session's training threads, or on this one. */
  sample: Sampler;
  /** Prompts per micro-batch: whole groups, at most the batch. */
  microPrompts: number;
  ppoEpochs: number;
  graderErrorsReported: boolean;
  /** Code-grader threads started at prepare time (they load while the model does). */
  graderReady: Promise<void>;
}

const population = stdModes.get('population');

/** Reward, accuracy and length statistics of one step's rollouts. */
function rolloutMetrics(
  run: RlRun,
  s: Session,
  rollouts: readonly Rollout[],
  examples: readonly RlExample[],
): StepMetrics {
  const prompts = examples.length;
  const rewards = rollouts.map((r) => r.graded.reward);
  const lengths = rollouts.map((r) => r.tokens.length);
  const groups = Array.from({ length: prompts }, (_, g) =>
    rewards.filter((__, i) => rollouts[i].group === g),
  );
  return {
    reward: mean(rewards),
    reward_std: population(rewards),
    ...rewardMeans(
      run.grader.name,
      rollouts.map((r) => r.graded),
    ),
    frac_reward_zero_std: mean(groups.map((g) => (g.every((x) => x === g[0]) ? 1 : 0))),
    accuracy: mean(rewards.map((x) => (x >= s.spec.passThreshold ? 1 : 0))),
    'completions/mean_length': mean(lengths),
    'completions/max_length': Math.max(...lengths),
    'completions/clipped_ratio': mean(rollouts.map((r) => (r.clipped ? 1 : 0))),
    ...chainMetrics(rollouts, examples),
  };
}

/**
 * For items that carry the results of a worked chain's steps (`steps`, as the chain task writes them): where the
 * completions first went wrong. `chain/first_error_line` is the mean line of the first error over wrong completions
 * (steps.length + 1 = the answer line); `chain/correct_prefix` the mean share of steps right before the first error.
 */
function chainMetrics(rollouts: readonly Rollout[], examples: readonly RlExample[]): StepMetrics {
  const lines: number[] = [];
  const prefixes: number[] = [];
  for (const r of rollouts) {
    const { steps, answer } = examples[r.group].item;
    if (!Array.isArray(steps) || typeof answer !== 'string') return {};
    const line = firstErrorLine(r.text, steps as number[], answer);
    prefixes.push((line === 0 ? steps.length : Math.min(line - 1, steps.length)) / steps.length);
    if (line > 0) lines.push(line);
  }
  if (!prefixes.length) return {};
  return {
    ...(lines.length ? { 'chain/first_error_line': mean(lines) } : {}),
    'chain/correct_prefix': mean(prefixes),
  };
}

function updateMetrics(st: UpdateStats): StepMetrics {
  return {
    kl: st.kl,
    entropy: st.entropy,
    loss: st.loss,
    policy_loss: st.policyLoss,
    grad_norm: st.gradNorm,
    grad_norm_max: st.gradNormMax,
    grad_clipped: st.gradClippedFraction,
    clip_ratio: st.clipRatio,
    learning_rate: st.learningRate,
    trace_weight_mean: st.traceWeightMean,
    advantage_mean: st.advantageMean,
    advantage_std: st.advantageStd,
    advantage_clamped_fraction: st.advantageClampedFraction,
  };
}

/** Token counts and the time of each phase (t: start, sampled, graded, referenced, updated). */
function throughputMetrics(
  rollouts: readonly Rollout[],
  micros: readonly RlMicroBatch[],
  st: UpdateStats,
  t: readonly number[],
  withReference: boolean,
): StepMetrics {
  const sampled = rollouts.reduce((a, r) => a + r.tokens.length, 0);
  const trained = micros.reduce((a, m) => a + m.packed.tokens, 0);
  const per = (amount: number, from: number, to: number): number => amount / Math.max(1e-9, t[to] - t[from]);
  return {
    grader_errors: rollouts.filter((r) => r.graded.error).length,
    sampled_tokens: sampled,
    trained_tokens: trained,
    tokens_per_second: per(trained, 0, 4),
    'time/sampling': t[1] - t[0],
    'time/grading': t[2] - t[1],
    'time/reference': t[3] - t[2],
    'time/update': t[4] - t[3],
    'throughput/sampling_tokens_per_second': per(sampled, 0, 1),
    'throughput/grading_samples_per_second': per(rollouts.length, 1, 2),
    'throughput/reference_tokens_per_second': withReference ? per(trained, 2, 3) : 0,
    'throughput/update_tokens_per_second': per(trained * st.updates, 3, 4),
    step_time: t[4] - t[0],
  };
}

/** The running total of sampled tokens (resumed runs continue from their history): Compare's x axis. */
function sampledTotal(s: Session, sampled: number): number {
  const last = s.state.history[s.state.history.length - 1]?.metrics['sampled_tokens_total'];
  return (Number.isFinite(last) ? last : 0) + sampled;
}

/**
 * At the sample cadence: whole groups with their advantages, and per-token credit of a few completions whose clip
 * marks are read before the last optimisation pass (`beforePass`). Null on other steps.
 */
function sampleRecorder(s: Session, run: RlRun, step: number, rollouts: readonly Rollout[]) {
  if (!(s.spec.sampleInterval > 0 && step % s.spec.sampleInterval === 0)) return null;
  const adv = rolloutAdvantages(rollouts, run.config, run.microPrompts);
  const detailed = detailedRollouts(rollouts);
  let clip: number[][] = [];
  return {
    beforePass(pass: number): void {
      if (pass !== run.ppoEpochs - 1) return;
      clip = clipMarks(
        s.model,
        detailed,
        detailed.map((r) => adv.advantages[rollouts.indexOf(r)]),
        run.config,
      );
    },
    samples: (): SampleCompletion[] => sampleLog(s.tokenizer, rollouts, adv, run.config, clip),
  };
}

/** The first step with grader failures says so once (they score 0 and are counted in grader_errors). */
function graderWarning(run: RlRun, step: number, errors: number, samples: number): StepEvent[] {
  if (errors === 0 || run.graderErrorsReported) return [];
  run.graderErrorsReported = true;
  const message = `The grader failed on ${errors} of ${samples} samples at step ${step}; they score 0 (counted in grader_errors)`;
  return [{ level: 'warn', message, data: { step, grader_errors: errors } }];
}

/**
 * Grades a step's rollouts; a cancel or pause asked for meanwhile kills the running graders and ends the step
 * undone (nothing was updated yet, so a pause checkpoints the previous step and a resume redoes this one).
 */
async function gradeOrStop(
  s: Session,
  run: RlRun,
  examples: readonly RlExample[],
  sampled: Parameters<typeof gradeRollouts>[2],
): Promise<Rollout[] | StepResult> {
  await run.graderReady;
  try {
    return await abortOnControl(
      () => control(s),
      (signal) => gradeRollouts(run.grader, examples, sampled, s.settings.graderConcurrency, signal),
    );
  } catch (e) {
    if (!(e instanceof GradingAbortedError)) throw e;
    return { status: control(s) === 'pause' ? 'pause' : 'cancel' };
  }
}

/** Sample G completions per prompt → grade → reference log-probs → μ clipped updates; then the step's metrics. */
async function reinforcementStep(
  s: Session,
  run: RlRun,
  step: number,
  batch: readonly number[],
): Promise<StepResult> {
  const { algorithm: a } = run;
  const { settings } = s;
  const examples = batch.map((i) => run.train[i]);
  const t = [now()];
  const sampled = await run.sample(examples, {
    groupSize: run.groupSize,
    maxNewTokens: a.max_completion_tokens,
    temperature: a.temperature,
    topP: a.top_p,
    seed: streamSeed(s.spec.seed, step, 'sampling'),
    step,
  });
  t.push(now());
  const rollouts = await gradeOrStop(s, run, examples, sampled);
  if (!Array.isArray(rollouts)) return rollouts;
  t.push(now());
  const micros = buildMicroBatches(
    rollouts,
    run.microPrompts,
    s.pool && { parts: s.pool.size, config: run.config },
  );
  if (s.pool && a.beta > 0) await attachReferenceOnThreads(s.pool, micros, a.temperature);
  else if (run.reference) attachReference(run.reference, micros, a.temperature);
  t.push(now());
  const totalUpdates = s.state.totalSteps * run.ppoEpochs;
  const recorder = sampleRecorder(s, run, step, rollouts);
  const update = await optimiseRl(
    {
      model: s.model,
      trainables: s.trainables,
      names: s.names,
      optimizer: s.optimizer,
      config: run.config,
      ppoEpochs: run.ppoEpochs,
      maxGradNorm: a.max_grad_norm,
      temperature: a.temperature,
      learningRate: (u) => learningRateAt(u, totalUpdates, s.peakLr, settings),
      control: () => control(s),
      step,
      beforePass: recorder?.beforePass,
      pool: s.pool,
    },
    micros,
  );
  if (update.status !== 'done') return { status: update.status };
  t.push(now());
  const metrics: StepMetrics = {
    ...rolloutMetrics(run, s, rollouts, examples),
    ...updateMetrics(update.stats),
    ...throughputMetrics(rollouts, micros, update.stats, t, run.reference !== null),
  };
  metrics['sampled_tokens_total'] = sampledTotal(s, metrics['sampled_tokens']);
  return {
    status: 'done',
    metrics,
    trainedTokens: metrics['trained_tokens'],
    pauseRequested: update.pauseRequested,
    samples: recorder?.samples(),
    events: graderWarning(run, step, metrics['grader_errors'], rollouts.length),
  };
}

function openReinforcement(s: Session, run: RlRun): TrainingMethod {
  const { spec } = s;
  const batchSize = spec.hyperparameters.batch_size;
  // A cancel or pause during evaluation kills its graders: the step is recorded without eval metrics and the loop
  // stops at the next boundary.
  const evaluate = (step: number): Promise<StepMetrics> =>
    abortOnControl(
      () => control(s),
      (signal) =>
        evaluateRl(run.sample, run.grader, run.valid, {
          samples: spec.hyperparameters.eval_samples,
          maxNewTokens: run.algorithm.max_completion_tokens,
          temperature: run.algorithm.temperature,
          topP: run.algorithm.top_p,
          passThreshold: spec.passThreshold,
          seed: streamSeed(spec.seed, step, 'evaluation'),
          graderConcurrency: s.settings.graderConcurrency,
          signal,
        }),
    ).catch((e: unknown) => {
      if (e instanceof GradingAbortedError) return {};
      throw e;
    });
  return {
    start: {
      level: 'info',
      message: `Reinforcement fine-tuning: ${s.state.totalSteps} steps, ${batchSize} prompts × ${run.groupSize} completions per step, peak LR ${s.peakLr}`,
      data: { totalSteps: s.state.totalSteps, groupSize: run.groupSize, estimator: run.config.estimator },
    },
    step: (step, batch) => reinforcementStep(s, run, step, batch),
    evaluate: run.valid.length > 0 ? evaluate : null,
  };
}

function createRunGrader(spec: Parameters<PrepareMethod>[0]): Grader {
  try {
    return createGrader(spec.grader, spec.judge ? { judge: spec.judge } : {});
  } catch (e) {
    throw new TrainingError(
      'invalid_config',
      `Invalid grader: ${(e as Error).message}`,
      'method.reinforcement.grader',
    );
  }
}

/**
 * GRPO / GRPO-λ: the loss config and the grader are built (and refused) before any model loads; opening on the
 * session loads the reference policy (the base model, only when β > 0) and tokenises the prompts.
 */
export const prepareReinforcement: PrepareMethod = (spec, data, settings) => {
  const algorithm = spec.algorithm as ResolvedAlgorithm;
  const groupSize = groupSizeOf(algorithm, spec.hyperparameters);
  const config = rlConfigFor(algorithm, spec.hyperparameters);
  const grader = createRunGrader(spec);
  const graderReady = grader.warm();
  let reference: TransformerModel | null = null;
  return {
    open(s) {
      // With training threads each thread holds its own reference model.
      reference = algorithm.beta > 0 && !s.pool ? loadBaseModel(spec.baseModel, spec.seed).model : null;
      const valid = toRlExamples(data.valid, s.tokenizer);
      const batchSize = spec.hyperparameters.batch_size;
      return openReinforcement(s, {
        algorithm,
        config,
        grader,
        groupSize,
        train: toRlExamples(data.train, s.tokenizer),
        valid: settings.maxEvalExamples > 0 ? valid.slice(0, settings.maxEvalExamples) : valid,
        reference,
        sample: s.pool ? threadSampler(s.pool) : localSampler(s.model, s.tokenizer),
        microPrompts: Math.max(1, Math.min(algorithm.micro_batch_size || batchSize, batchSize)),
        ppoEpochs: Math.max(1, algorithm.ppo_epochs),
        graderErrorsReported: false,
        graderReady,
      });
    },
    dispose() {
      grader.dispose();
      reference?.dispose();
    },
  };
};
