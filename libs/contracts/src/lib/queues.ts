/**
 * The queue catalogue: every Bull queue, its payload and its default job options. The api produces, the worker
 * consumes; both import these constants so the two sides cannot disagree.
 */
export const TRAINING_QUEUE = 'training';

/**
 * Jobs whose base model is too large for a worker without an accelerator (TRACETUNE_CPU_MAX_PARAMS) go here; only
 * workers whose TensorFlow.js backend has one (tensorflow-gpu, webgpu) consume it, so every worker takes only jobs it
 * can run. They consume the CPU queue too.
 */
export const ACCELERATED_TRAINING_QUEUE = 'training-accelerated';

export type Accelerator = 'none' | 'cuda' | 'webgpu';

/**
 * The TensorFlow.js backends an operator can ask for (`TRACETUNE_BACKEND`, the CLI's `--backend`): `auto`, then every
 * backend from the best to the plainest — the order libs/model tries them in. The one list of them.
 */
export const BACKEND_CHOICES = ['auto', 'tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** The WebGPU adapter a worker computes on, as its /health shows it. */
export interface WorkerAdapter {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (lavapipe): only used when webgpu was asked for by name. */
  software: boolean;
  max_buffer_bytes: number;
  max_storage_binding_bytes: number;
}

/** What a worker can run, advertised on its /health and used to pick the queues it consumes. */
export interface WorkerCapabilities {
  backend: string;
  accelerator: Accelerator;
  /** On webgpu, the adapter; else null. */
  adapter: WorkerAdapter | null;
  memory: {
    /** The machine's memory. */
    system_bytes: number;
    /** The most the backend can hold in all (wasm: 4 GiB), null when only the machine bounds it. */
    backend_limit_bytes: number | null;
    /** The largest single tensor the backend can hold (webgpu: the adapter's buffer limits), null when unbounded. */
    max_tensor_bytes: number | null;
  };
  queues: string[];
}

export const TRAINING_JOB = {
  /** Run (or resume) one fine-tuning job. */
  run: 'run-fine-tuning-job',
} as const;

export interface TrainingJobPayload {
  /** The fine-tuning job id; also the Bull job id, so a retry cannot enqueue the same job twice. */
  jobId: string;
  organizationId: string;
}

/**
 * Training jobs are long. The lock is renewed by the worker process's event loop while compute runs in a child
 * process (sandboxed processor), so a healthy job never looks stalled; a dead worker stops renewing and the job is
 * retried from its last checkpoint after `lockDuration`.
 */
export const TRAINING_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: 1_000,
  removeOnFail: 1_000,
} as const;

export function trainingQueueSettings(lockMs: number) {
  return {
    lockDuration: lockMs,
    lockRenewTime: Math.floor(lockMs / 4),
    stalledInterval: Math.floor(lockMs / 2),
    /** A stalled job is retried this many times before it fails (each worker crash is one stall). */
    maxStalledCount: 5,
  };
}
