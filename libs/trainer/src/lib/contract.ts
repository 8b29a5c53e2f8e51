import type { ResolvedAlgorithm, ResolvedHyperparameters, ResolvedLora } from '@tracetune/contracts';

/**
 * The contract between libs/trainer and its callers (the worker app, the CLI, benchmarks). The worker knows nothing
 * else about training: it builds a {@link TrainingRunSpec} from a fine-tuning job, calls {@link runTraining} and
 * persists what the callbacks report. Everything here is plain data (JSON-serialisable) so a run can execute in a
 * child process; data files travel as paths, never as contents. The job settings inside (hyperparameters,
 * algorithm, LoRA) are the resolved forms of libs/contracts (fine-tuning-settings.ts), which owns their defaults.
 */

/** Where the initial weights come from. */
export type BaseModelSource =
  /** A built-in architecture (`tt-nano`, `tt-micro`, `tt-mini`) with deterministic init from the run seed. */
  | { kind: 'builtin'; name: string }
  /** A Hugging Face layout directory on local disk (imported base, fine-tuned model or checkpoint). */
  | { kind: 'directory'; path: string };

export interface TrainingRunSpec {
  method: 'reinforcement' | 'supervised' | 'dpo';
  baseModel: BaseModelSource;
  /**
   * Path of the training file's JSONL on local disk (validated at upload; the trainer reads it line by line and
   * reports a bad line by its number).
   */
  trainingFile: string;
  validationFile?: string | null;
  /** OpenAI grader JSON (reinforcement only). */
  grader?: Record<string, unknown> | null;
  /** Resolved (every "auto" a number); `n_epochs` may be fractional here (smoke runs and tests). */
  hyperparameters: ResolvedHyperparameters;
  /** Reinforcement only. */
  algorithm?: ResolvedAlgorithm | null;
  lora?: ResolvedLora | null;
  /** DPO only: the loss's β (libs/contracts DPO_SETTINGS). */
  dpo?: { beta: number } | null;
  seed: number;
  /** Save a checkpoint every this many steps (and always at the end). */
  checkpointInterval: number;
  /** Emit sample completions every this many steps. */
  sampleInterval: number;
  /** A sample counts as correct when its reward is at least this (accuracy metrics). */
  passThreshold: number;
  /** Judge for model graders (score_model / label_model), when the server has one. */
  judge?: { baseURL: string; apiKey: string } | null;
  /** Optional loop/optimiser settings OpenAI's hyperparameters do not name (docs/trainer.md); defaults when absent. */
  trainer?: TrainerOptions | null;
}

/** Tracetune trainer settings beyond OpenAI's hyperparameters; every field optional (docs/trainer.md lists defaults). */
export interface TrainerOptions {
  /** Peak LR before `learning_rate_multiplier` (default: 1e-4 LoRA / 1e-5 full; 1e-3 / 3e-4 for models < 50M params). */
  baseLearningRate?: number | null;
  /** Default 'cosine' (to 10 % of the peak) after a linear warm-up. */
  lrSchedule?: 'cosine' | 'constant';
  /** Fraction of optimiser updates used for linear warm-up (default 0.05). */
  warmupRatio?: number;
  minLrRatio?: number;
  /** AdamW decoupled weight decay (default 0). */
  weightDecay?: number;
  /** Global-norm gradient clipping (default 1.0). */
  maxGradNorm?: number;
  /** Graded samples in flight at once (default 8). */
  graderConcurrency?: number;
  /** Validation rows used per evaluation, the first N of the file (default 0 = all). */
  maxEvalExamples?: number;
  /** SFT examples per micro-batch (default 8). */
  sftMicroBatchSize?: number;
  /** SFT sequences are cut to this many tokens (default 1024, and never beyond the model's context). */
  maxSequenceTokens?: number;
  /** Stop after this many steps (≤ the epoch-derived total): benchmarks and smoke runs. */
  maxSteps?: number | null;
}

/** One step's numbers, named as docs/api-contract.md lists them ("Metric names"); eval metrics are prefixed `eval_`. */
export type StepMetrics = Record<string, number>;

/** Per-token quantities of a logged completion (parallel arrays, one entry per completion token). */
export interface SampleTokenDetail {
  /** Each token decoded on its own. */
  text: string[];
  /** log π_old of each token: the sampling policy's log-probability. */
  logprob: number[];
  /** The GRPO-λ trace weight W_k of each token (1 for GRPO). */
  weight: number[];
  /** Ã × W_k: the advantage this token's gradient carries (Ã for GRPO). */
  credit: number[];
  /** In the step's last optimisation pass: −1 ratio clipped below with Ã < 0, +1 clipped above with Ã > 0, else 0. */
  clip: number[];
  /** True when the completion had more tokens than were logged. */
  truncated: boolean;
}

export interface SampleCompletion {
  prompt: string;
  completion: string;
  reward: number;
  /** Reinforcement: the prompt's index in the step's batch; the G completions of one prompt share it. */
  group?: number;
  /** Reinforcement: the advantage Ã after the clamp, and A before it. */
  advantage?: number;
  advantage_raw?: number;
  /** The clamp raised A to the floor. */
  clamped?: boolean;
  /** 'length' when the completion hit max_completion_tokens. */
  finish_reason?: 'stop' | 'length';
  completion_tokens?: number;
  /** Per-token credit, for a few completions per logged step. */
  tokens?: SampleTokenDetail;
}

export interface CheckpointInfo {
  step: number;
  /** Directory holding the checkpoint (HF layout + `trainer_state.json` + optimizer state), written atomically. */
  dir: string;
  metrics: StepMetrics;
}

/** What the caller wants next; checked between steps and between micro-batches. */
export type ControlSignal = 'continue' | 'cancel' | 'pause';

export interface TrainingCallbacks {
  onStep?(step: number, totalSteps: number, metrics: StepMetrics): void | Promise<void>;
  onEvent?(
    level: 'info' | 'warn' | 'error',
    message: string,
    data?: Record<string, unknown>,
  ): void | Promise<void>;
  onSamples?(step: number, samples: SampleCompletion[]): void | Promise<void>;
  onCheckpoint?(checkpoint: CheckpointInfo): void | Promise<void>;
  control?(): ControlSignal;
}

export interface RunTrainingOptions {
  /** Where checkpoints are written: `<checkpointRoot>/step-<N>`; the final model goes to `<checkpointRoot>/final`. */
  checkpointRoot: string;
  /** Resume exactly from this checkpoint directory (one written by this trainer). */
  resumeFrom?: string | null;
  callbacks?: TrainingCallbacks;
  /**
   * Training threads (data parallelism, docs/trainer.md): 1 (default) trains on the calling thread; N > 1 runs N
   * worker threads, each with its own backend and model replica, and gives the same completions and rewards;
   * 0 = automatic (`trainingThreads`: one per core within `threadLimits`).
   */
  threads?: number;
  /** Cores and memory the automatic thread count may use. */
  threadLimits?: { maxThreads?: number; memoryBudgetBytes?: number };
  /** The script a training thread runs (a bundle entry calling `runTrainingThread`); not needed from sources. */
  threadEntry?: string | null;
}

export interface TrainingOutcome {
  status: 'succeeded' | 'cancelled' | 'paused';
  /** Last completed step. */
  step: number;
  totalSteps: number;
  /** Tokens trained on (prompt + completion tokens of every optimised sequence). */
  trainedTokens: number;
  /** HF-layout directory of the final weights (succeeded), or of the checkpoint written at pause. */
  modelDir: string | null;
  finalMetrics: StepMetrics;
}

/** A failure the caller should report as the job's `error` (OpenAI shape: code, message, param). */
export class TrainingError extends Error {
  constructor(
    readonly code:
      | 'invalid_training_data'
      | 'model_load_failed'
      | 'non_finite_loss'
      | 'out_of_memory'
      | 'grader_failed'
      | 'invalid_config'
      /** A training thread died (out of memory, a wasm trap): the step is lost, a retry resumes from a checkpoint. */
      | 'thread_failed',
    message: string,
    readonly param: string | null = null,
    readonly step: number | null = null,
  ) {
    super(message);
    this.name = 'TrainingError';
  }

  /** A loss or gradient norm that is NaN or infinite at `step` (`hint` says what to do). */
  static nonFinite(what: string, value: number, step: number, hint = ''): TrainingError {
    return new TrainingError(
      'non_finite_loss',
      `Non-finite ${what} (${value}) at step ${step}${hint}`,
      null,
      step,
    );
  }
}
