import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { groupSize as groupSizeOf } from '@tracetune/contracts';
import { createGrader, type Grader } from '@tracetune/graders';
import { loadCheckpoint, type TransformerModel } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import { readTrainerState, writeCheckpoint, type TrainerState } from './checkpoint';
import {
  TrainingError,
  type ControlSignal,
  type RunTrainingOptions,
  type StepMetrics,
  type TrainingCallbacks,
  type TrainingOutcome,
  type TrainingRunSpec,
} from './contract';
import { DataStream, readJsonl, toRlExamples, toSftExample, type RlExample, type SftExample } from './data';
import { evaluateRl } from './evaluate';
import { rewardMeans } from './grading';
import { AdamW, GradientAccumulator, type NamedVariable } from './optimizer';
import { addLoraAdapters, loadAdapters, loadBaseModel, trainableVariables } from './policy';
import {
  attachReference,
  buildMicroBatches,
  gradeRollouts,
  optimiseRl,
  rlConfigFor,
  sampleGroups,
} from './rl';
import { streamSeed } from './seeds';
import { baseLearningRate, learningRateAt, resolveSettings, type TrainerSettings } from './settings';
import { sftEvalLoss, sftLoss, trainedTokenCount } from './sft';

const now = (): number => performance.now() / 1000;
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const std = (xs: readonly number[]): number => {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
};

/** The model, optimiser and bookkeeping shared by the RL and SFT loops. */
interface Session {
  spec: TrainingRunSpec;
  options: RunTrainingOptions;
  callbacks: TrainingCallbacks;
  settings: TrainerSettings;
  model: TransformerModel;
  tokenizer: Tokenizer;
  trainables: NamedVariable[];
  names: Map<string, string>;
  optimizer: AdamW;
  state: TrainerState;
  peakLr: number;
}

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

function loadPolicy(
  spec: TrainingRunSpec,
  resume: { dir: string; state: TrainerState } | null,
): { model: TransformerModel; tokenizer: Tokenizer } {
  if (resume && !spec.lora) {
    try {
      const { model, tokenizer } = loadCheckpoint(resume.dir, { seed: spec.seed });
      return { model, tokenizer };
    } catch (e) {
      throw new TrainingError(
        'model_load_failed',
        `Cannot load checkpoint ${resume.dir}: ${(e as Error).message}`,
        'resumeFrom',
      );
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
        throw new TrainingError(
          'model_load_failed',
          `Cannot load the adapters of ${resume.dir}: ${(e as Error).message}`,
          'resumeFrom',
        );
      }
    }
  }
  return loaded;
}

function openSession(spec: TrainingRunSpec, options: RunTrainingOptions, totalSteps: number): Session {
  const settings = resolveSettings(spec.trainer);
  const resume = options.resumeFrom
    ? { dir: options.resumeFrom, state: readTrainerState(options.resumeFrom) }
    : null;
  if (resume && resume.state.method !== spec.method) {
    throw new TrainingError(
      'invalid_config',
      `Checkpoint ${resume.dir} is from a ${resume.state.method} run, not ${spec.method}`,
      'resumeFrom',
    );
  }
  const { model, tokenizer } = loadPolicy(spec, resume);
  const trainables = trainableVariables(model);
  const names = new Map(trainables.map((t) => [t.variable.name, t.name]));
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
      throw new TrainingError(
        'model_load_failed',
        `Cannot load the optimizer state of ${resume.dir}: ${(e as Error).message}`,
        'resumeFrom',
      );
    }
  }
  const state: TrainerState = resume
    ? { ...resume.state, totalSteps }
    : {
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
    names,
    optimizer,
    state,
    peakLr,
  };
}

function totalStepsFor(spec: TrainingRunSpec, examples: number, settings: TrainerSettings): number {
  const fromEpochs = Math.max(
    1,
    Math.ceil((spec.hyperparameters.n_epochs * examples) / spec.hyperparameters.batch_size),
  );
  return settings.maxSteps ? Math.min(fromEpochs, settings.maxSteps) : fromEpochs;
}

function checkpointDir(s: Session, step: number): string {
  return join(s.options.checkpointRoot, `step-${step}`);
}

async function saveStepCheckpoint(s: Session, metrics: StepMetrics): Promise<string> {
  s.state.optimizerStep = s.optimizer.step;
  const dir = checkpointDir(s, s.state.step);
  writeCheckpoint(dir, { model: s.model, tokenizer: s.tokenizer, optimizer: s.optimizer, state: s.state });
  await s.callbacks.onCheckpoint?.({ step: s.state.step, dir, metrics });
  return dir;
}

function lastMetrics(s: Session): StepMetrics {
  return s.state.history[s.state.history.length - 1]?.metrics ?? {};
}

async function pauseOutcome(s: Session): Promise<TrainingOutcome> {
  const dir = await saveStepCheckpoint(s, lastMetrics(s));
  await s.callbacks.onEvent?.('info', `Paused after step ${s.state.step}; checkpoint written to ${dir}`, {
    step: s.state.step,
  });
  return outcome(s, 'paused', dir);
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

/** Final weights (LoRA merged into the written tensors) + the last step checkpoint; returns the final directory. */
async function finish(s: Session): Promise<TrainingOutcome> {
  const metrics = lastMetrics(s);
  await saveStepCheckpoint(s, metrics);
  const finalDir = join(s.options.checkpointRoot, 'final');
  writeCheckpoint(finalDir, { model: s.model, tokenizer: s.tokenizer, optimizer: null, state: s.state });
  await s.callbacks.onEvent?.('info', `Training finished after ${s.state.step} steps`, {
    step: s.state.step,
    modelDir: finalDir,
  });
  return outcome(s, 'succeeded', finalDir);
}

function control(s: Session): ControlSignal {
  return s.callbacks.control?.() ?? 'continue';
}

function record(s: Session, metrics: StepMetrics): void {
  s.state.history.push({ step: s.state.step, metrics });
}

// ------------------------------------------------------------------------------------------------ reinforcement

async function runReinforcement(
  spec: TrainingRunSpec,
  options: RunTrainingOptions,
): Promise<TrainingOutcome> {
  const algorithm = spec.algorithm as NonNullable<TrainingRunSpec['algorithm']>;
  const settings = resolveSettings(spec.trainer);
  const trainLines = await readJsonl(spec.trainingFile, 'reinforcement', 'training_file');
  const validLines = spec.validationFile
    ? await readJsonl(spec.validationFile, 'reinforcement', 'validation_file')
    : [];
  const groupSize = groupSizeOf(algorithm, spec.hyperparameters);
  const rlConfig = rlConfigFor(algorithm, spec.hyperparameters);
  let grader: Grader;
  try {
    grader = createGrader(spec.grader, spec.judge ? { judge: spec.judge } : {});
  } catch (e) {
    throw new TrainingError(
      'invalid_config',
      `Invalid grader: ${(e as Error).message}`,
      'method.reinforcement.grader',
    );
  }
  const totalSteps = totalStepsFor(spec, trainLines.length, settings);
  const ppoEpochs = Math.max(1, algorithm.ppo_epochs);
  let s: Session | null = null;
  let reference: TransformerModel | null = null;
  try {
    s = openSession(spec, options, totalSteps);
    const session = s;
    // The reference policy is the base model; it is only held when the KL term is on.
    reference = algorithm.beta > 0 ? loadBaseModel(spec.baseModel, spec.seed).model : null;
    const train = toRlExamples(trainLines, s.tokenizer);
    let valid = toRlExamples(validLines, s.tokenizer);
    if (settings.maxEvalExamples > 0) valid = valid.slice(0, settings.maxEvalExamples);
    const stream = new DataStream(train.length, spec.seed);
    const batchSize = spec.hyperparameters.batch_size;
    const microPrompts = Math.max(1, Math.min(algorithm.micro_batch_size || batchSize, batchSize));
    const totalUpdates = totalSteps * ppoEpochs;
    let graderErrorsReported = false;
    await s.callbacks.onEvent?.(
      'info',
      `Reinforcement fine-tuning: ${totalSteps} steps, ${batchSize} prompts × ${groupSize} completions per step, peak LR ${s.peakLr}`,
      {
        totalSteps,
        groupSize,
        estimator: rlConfig.estimator,
      },
    );
    while (s.state.step < totalSteps) {
      const signal = control(s);
      if (signal === 'cancel') return outcome(s, 'cancelled', null);
      if (signal === 'pause') return await pauseOutcome(s);
      const step = s.state.step + 1;
      const t0 = now();
      const examples: RlExample[] = stream.take(s.state.dataCursor, batchSize).map((i) => train[i]);
      const sampled = sampleGroups(s.model, s.tokenizer, examples, {
        groupSize,
        maxNewTokens: algorithm.max_completion_tokens,
        temperature: algorithm.temperature,
        topP: algorithm.top_p,
        seed: streamSeed(spec.seed, step, 'sampling'),
        step,
      });
      const t1 = now();
      const rollouts = await gradeRollouts(grader, examples, sampled, settings.graderConcurrency);
      const t2 = now();
      const micros = buildMicroBatches(rollouts, microPrompts);
      if (reference) attachReference(reference, micros);
      const t3 = now();
      const result = await optimiseRl(
        {
          model: s.model,
          trainables: s.trainables,
          names: s.names,
          optimizer: s.optimizer,
          config: rlConfig,
          ppoEpochs,
          maxGradNorm: settings.maxGradNorm,
          learningRate: (u) => learningRateAt(u, totalUpdates, session.peakLr, settings),
          control: () => control(session),
          step,
        },
        micros,
      );
      if (result.status !== 'done')
        return result.status === 'cancel' ? outcome(s, 'cancelled', null) : await pauseOutcome(s);
      const t4 = now();
      const rewards = rollouts.map((r) => r.graded.reward);
      const lengths = rollouts.map((r) => r.tokens.length);
      const sampledTokens = lengths.reduce((a, b) => a + b, 0);
      const trainedTokens = micros.reduce((a, m) => a + m.packed.tokens, 0);
      const groups = examples.map((_, g) => rewards.filter((__, i) => rollouts[i].group === g));
      const st = result.stats;
      const metrics: StepMetrics = {
        reward: mean(rewards),
        reward_std: std(rewards),
        ...rewardMeans(
          grader.name,
          rollouts.map((r) => r.graded),
        ),
        frac_reward_zero_std: mean(groups.map((g) => (g.every((x) => x === g[0]) ? 1 : 0))),
        accuracy: mean(rewards.map((x) => (x >= spec.passThreshold ? 1 : 0))),
        'completions/mean_length': mean(lengths),
        'completions/max_length': Math.max(...lengths),
        'completions/clipped_ratio': mean(rollouts.map((r) => (r.clipped ? 1 : 0))),
        kl: st.kl,
        entropy: st.entropy,
        loss: st.loss,
        policy_loss: st.policyLoss,
        grad_norm: st.gradNorm,
        grad_norm_max: st.gradNormMax,
        clip_ratio: st.clipRatio,
        learning_rate: st.learningRate,
        trace_weight_mean: st.traceWeightMean,
        advantage_mean: st.advantageMean,
        advantage_std: st.advantageStd,
        advantage_clamped_fraction: st.advantageClampedFraction,
        grader_errors: rollouts.filter((r) => r.graded.error).length,
        sampled_tokens: sampledTokens,
        trained_tokens: trainedTokens,
        tokens_per_second: trainedTokens / Math.max(1e-9, t4 - t0),
        'time/sampling': t1 - t0,
        'time/grading': t2 - t1,
        'time/reference': t3 - t2,
        'time/update': t4 - t3,
        'throughput/sampling_tokens_per_second': sampledTokens / Math.max(1e-9, t1 - t0),
        'throughput/grading_samples_per_second': rollouts.length / Math.max(1e-9, t2 - t1),
        'throughput/reference_tokens_per_second': reference ? trainedTokens / Math.max(1e-9, t3 - t2) : 0,
        'throughput/update_tokens_per_second': (trainedTokens * st.updates) / Math.max(1e-9, t4 - t3),
        step_time: t4 - t0,
      };
      s.state.step = step;
      s.state.dataCursor += batchSize;
      s.state.trainedTokens += trainedTokens;
      s.state.optimizerStep = s.optimizer.step;
      const evalDue =
        step === totalSteps ||
        (spec.hyperparameters.eval_interval > 0 && step % spec.hyperparameters.eval_interval === 0);
      if (evalDue && valid.length > 0) {
        Object.assign(
          metrics,
          await evaluateRl(s.model, s.tokenizer, grader, valid, {
            samples: spec.hyperparameters.eval_samples,
            maxNewTokens: algorithm.max_completion_tokens,
            temperature: algorithm.temperature,
            topP: algorithm.top_p,
            passThreshold: spec.passThreshold,
            seed: streamSeed(spec.seed, step, 'evaluation'),
            graderConcurrency: settings.graderConcurrency,
          }),
        );
      }
      record(s, metrics);
      await s.callbacks.onStep?.(step, totalSteps, metrics);
      if (metrics['grader_errors'] > 0 && !graderErrorsReported) {
        graderErrorsReported = true;
        await s.callbacks.onEvent?.(
          'warn',
          `The grader failed on ${metrics['grader_errors']} of ${rollouts.length} samples at step ${step}; they score 0 (counted in grader_errors)`,
          {
            step,
            grader_errors: metrics['grader_errors'],
          },
        );
      }
      if (spec.sampleInterval > 0 && step % spec.sampleInterval === 0) {
        await s.callbacks.onSamples?.(
          step,
          examples.map((_, g) => {
            const r = rollouts.find((x) => x.group === g) as (typeof rollouts)[number];
            return { prompt: r.promptText, completion: r.text, reward: r.graded.reward };
          }),
        );
      }
      if (result.pauseRequested) return await pauseOutcome(s);
      if (step < totalSteps && spec.checkpointInterval > 0 && step % spec.checkpointInterval === 0)
        await saveStepCheckpoint(s, metrics);
    }
    return await finish(s);
  } finally {
    grader.dispose();
    reference?.dispose();
    s?.optimizer.dispose();
    s?.model.dispose();
  }
}

// ------------------------------------------------------------------------------------------------ supervised

async function runSupervised(spec: TrainingRunSpec, options: RunTrainingOptions): Promise<TrainingOutcome> {
  const settings = resolveSettings(spec.trainer);
  const trainLines = await readJsonl(spec.trainingFile, 'supervised', 'training_file');
  const validLines = spec.validationFile
    ? await readJsonl(spec.validationFile, 'supervised', 'validation_file')
    : [];
  const totalSteps = totalStepsFor(spec, trainLines.length, settings);
  let s: Session | null = null;
  try {
    s = openSession(spec, options, totalSteps);
    const maxTokens = Math.min(settings.maxSequenceTokens, s.model.config.max_position_embeddings);
    const toExample = (messages: (typeof trainLines)[number]['messages']): SftExample =>
      toSftExample(messages, (s as Session).tokenizer, maxTokens);
    const train = trainLines.map((l) => toExample(l.messages));
    let valid = validLines.map((l) => toExample(l.messages));
    if (settings.maxEvalExamples > 0) valid = valid.slice(0, settings.maxEvalExamples);
    const stream = new DataStream(train.length, spec.seed);
    const batchSize = spec.hyperparameters.batch_size;
    const micro = settings.sftMicroBatchSize > 0 ? settings.sftMicroBatchSize : batchSize;
    const vars = s.trainables.map((t) => t.variable);
    await s.callbacks.onEvent?.(
      'info',
      `Supervised fine-tuning: ${totalSteps} steps of ${batchSize} examples, peak LR ${s.peakLr}`,
      { totalSteps },
    );
    while (s.state.step < totalSteps) {
      const signal = control(s);
      if (signal === 'cancel') return outcome(s, 'cancelled', null);
      if (signal === 'pause') return await pauseOutcome(s);
      const step = s.state.step + 1;
      const t0 = now();
      const batch = stream.take(s.state.dataCursor, batchSize).map((i) => train[i]);
      const normaliser = trainedTokenCount(batch);
      const grads = new GradientAccumulator();
      let loss = 0;
      try {
        for (let i = 0; i < batch.length; i += micro) {
          const part = batch.slice(i, i + micro);
          if (trainedTokenCount(part) === 0) continue;
          const signalMid = control(s);
          if (signalMid === 'cancel') return outcome(s, 'cancelled', null);
          if (signalMid === 'pause') return await pauseOutcome(s);
          const session = s;
          const { value, grads: g } = tf.variableGrads(
            () => sftLoss(session.model, part, normaliser, true),
            vars,
          );
          const v = value.dataSync()[0];
          value.dispose();
          if (!Number.isFinite(v)) {
            tf.dispose(g);
            throw new TrainingError(
              'non_finite_loss',
              `Non-finite loss (${v}) at step ${step}: lower the learning rate or check the data`,
              null,
              step,
            );
          }
          loss += v;
          grads.add(g, s.names);
        }
        const norm = grads.globalNorm();
        if (!Number.isFinite(norm))
          throw new TrainingError(
            'non_finite_loss',
            `Non-finite gradient norm (${norm}) at step ${step}`,
            null,
            step,
          );
        if (norm > settings.maxGradNorm) grads.scale(settings.maxGradNorm / (norm + 1e-6));
        const lr = learningRateAt(s.optimizer.step, totalSteps, s.peakLr, settings);
        s.optimizer.apply(grads.grads, lr);
        const t1 = now();
        const tokens = batch.reduce((a, e) => a + e.input.length + 1, 0);
        const metrics: StepMetrics = {
          train_loss: loss,
          loss,
          learning_rate: lr,
          grad_norm: norm,
          trained_tokens: tokens,
          loss_tokens: normaliser,
          tokens_per_second: tokens / Math.max(1e-9, t1 - t0),
          step_time: t1 - t0,
        };
        s.state.step = step;
        s.state.dataCursor += batchSize;
        s.state.trainedTokens += tokens;
        s.state.optimizerStep = s.optimizer.step;
        const evalDue =
          step === totalSteps ||
          (spec.hyperparameters.eval_interval > 0 && step % spec.hyperparameters.eval_interval === 0);
        if (evalDue && valid.length > 0) metrics['eval_loss'] = sftEvalLoss(s.model, valid, micro);
        record(s, metrics);
        await s.callbacks.onStep?.(step, totalSteps, metrics);
        if (step < totalSteps && spec.checkpointInterval > 0 && step % spec.checkpointInterval === 0)
          await saveStepCheckpoint(s, metrics);
      } finally {
        grads.dispose();
      }
    }
    return await finish(s);
  } finally {
    s?.optimizer.dispose();
    s?.model.dispose();
  }
}

/**
 * Runs one fine-tuning job to completion, cancellation or pause (the contract in contract.ts). The caller chooses
 * the tfjs backend beforehand. Throws TrainingError for failures a job should report.
 */
export async function runTraining(
  spec: TrainingRunSpec,
  options: RunTrainingOptions,
): Promise<TrainingOutcome> {
  checkSpec(spec);
  return spec.method === 'reinforcement' ? runReinforcement(spec, options) : runSupervised(spec, options);
}
