import { z } from 'zod';

import { BACKEND_CHOICES } from '@tracetune/contracts';

/**
 * Every environment variable Tracetune reads, with its default and meaning. `.env.example` mirrors this table;
 * nothing outside libs/config reads `process.env` (lint enforces it).
 */
const port = (fallback: number) => z.coerce.number().int().min(1).max(65535).default(fallback);
const bytes = (fallback: number) => z.coerce.number().int().positive().default(fallback);
/** A rate limit or quota: a whole number, 0 meaning no limit. */
const limit = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

/** `true`/`false` (also `1`/`0`, `yes`/`no`); z.coerce.boolean would read "false" as true. */
const flag = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  /** Address the HTTP servers bind to. */
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Public API port (OpenAI-compatible surface, dashboard, /docs). */
  PORT: port(8080),
  /** Internal inference server port. */
  INFERENCE_PORT: port(8081),
  /** Where the api reaches inference; unset: the local all-in-one instance, http://127.0.0.1:<INFERENCE_PORT>. */
  INFERENCE_URL: z.url().optional(),
  /** Worker health endpoint port. */
  WORKER_HEALTH_PORT: port(8082),
  DATABASE_URL: z
    .string()
    .regex(
      /^postgres(ql)?:\/\//,
      'must be a postgresql:// URL, e.g. postgresql://postgres@127.0.0.1:5432/tracetune',
    )
    .default('postgresql://postgres@127.0.0.1:5432/tracetune'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// URL, e.g. redis://127.0.0.1:6379')
    .default('redis://127.0.0.1:6379'),
  /**
   * Prefix of every Bull key in Redis. Unset: `tt-` and the deployment id stored in the database, so separate
   * deployments (separate databases) sharing one Redis never take each other's jobs.
   */
  TRACETUNE_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .optional(),
  /**
   * How long a worker's claim on a training job lasts without renewal. A worker that dies (SIGKILL, power loss) loses
   * its jobs after this long, and another worker resumes them from their last checkpoint.
   */
  TRACETUNE_JOB_LOCK_MS: z.coerce.number().int().min(1_000).default(60_000),
  /**
   * How often the api checks that every waiting job's queue has a live worker (an event and the job's status_details
   * say when none has; another event when one appears).
   */
  TRACETUNE_QUEUE_WATCH_MS: z.coerce.number().int().min(500).max(60_000).default(20_000),
  /**
   * How often each worker reconciles the queue with PostgreSQL (the source of truth): jobs queued, running or pausing
   * there without a live queue delivery or a worker heartbeat are queued again (after a Redis loss, crash or restart),
   * and a pause whose worker is gone is finished. 0 turns the sweep off.
   */
  TRACETUNE_RECONCILE_INTERVAL_MS: z.coerce.number().int().nonnegative().default(30_000),
  /**
   * How long a worker keeps retrying the writes of a job's steps, metrics and events through a database outage
   * (buffering them in order) before it stops the job and fails it clearly.
   */
  TRACETUNE_DB_RETRY_MS: z.coerce.number().int().min(1_000).default(300_000),
  /**
   * On SIGTERM a worker asks its training process to checkpoint and hands the job back to the queue; past this grace
   * period it stops the training process and the job resumes from its last checkpoint elsewhere.
   */
  TRACETUNE_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(1_000).default(30_000),
  /**
   * Largest base model (in parameters) that workers without an accelerator train; jobs on bigger models wait in the
   * accelerated queue for a GPU worker.
   */
  TRACETUNE_CPU_MAX_PARAMS: z.coerce.number().int().positive().default(150_000_000),
  /**
   * Root folder of artifact storage (uploads, checkpoints, models), shared by api, worker and inference; with
   * TRACETUNE_STORAGE=s3://… the local cache and scratch space of this host instead.
   */
  TRACETUNE_DATA_DIR: z.string().min(1).default('./data'),
  /**
   * Where artifacts live: `local` (files under TRACETUNE_DATA_DIR) or `s3://bucket/prefix` on S3 or an S3-compatible
   * server, shared by every host (TRACETUNE_DATA_DIR is then each host's local cache).
   */
  TRACETUNE_STORAGE: z
    .string()
    .regex(
      /^(local|s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[A-Za-z0-9][A-Za-z0-9._-]*)*\/?)$/,
      'must be local or s3://bucket/prefix (a bucket name, then optional prefix segments of letters, digits, ".", "_", "-")',
    )
    .default('local'),
  /** S3 endpoint for MinIO, R2 and other S3-compatible servers; unset for AWS S3. */
  AWS_ENDPOINT_URL: z.url().optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  /** S3 credentials; unset: the AWS SDK's default chain (shared config files, instance or pod roles). */
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  /** Path-style S3 URLs (endpoint/bucket/key), which MinIO and most self-hosted servers need. */
  TRACETUNE_S3_FORCE_PATH_STYLE: flag(false),
  /** Bearer token that /metrics requires on every app when set; unset: /metrics is open (keep it on a private network). */
  TRACETUNE_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /**
   * Bootstrap admin key, created on first start when no admin key exists. Unset: one is generated and printed once.
   */
  TRACETUNE_ADMIN_KEY: z
    .string()
    .regex(/^tt-[A-Za-z0-9_-]{20,}$/, 'must look like tt- followed by at least 20 letters, digits, _ or -')
    .optional(),
  /** TensorFlow.js backend for worker and inference: auto picks the best that loads. */
  TRACETUNE_BACKEND: z.enum(BACKEND_CHOICES).default('auto'),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  /** Largest accepted upload; bigger ones get 413. */
  TRACETUNE_MAX_UPLOAD_BYTES: bytes(512 * 1024 * 1024),
  /** Largest model upload (POST /v1/models): the .tar/.tar.gz as sent and the files it expands to; 413 above. */
  TRACETUNE_MAX_MODEL_UPLOAD_BYTES: bytes(8 * 1024 * 1024 * 1024),
  /**
   * Memory a training process may use for a model on the CPU queue (the wasm backend's heap is 4 GiB), in MiB: jobs
   * whose weights, gradients and optimizer state would not fit are refused at creation with the numbers.
   */
  TRACETUNE_TRAINING_MEMORY_MB: z.coerce.number().int().positive().default(4096),
  /** The same budget for jobs on the accelerated queue (models above TRACETUNE_CPU_MAX_PARAMS), in MiB. */
  TRACETUNE_ACCELERATOR_MEMORY_MB: z.coerce.number().int().positive().default(16384),
  /** Longest accepted JSONL line in a fine-tune file. */
  TRACETUNE_MAX_LINE_BYTES: bytes(8 * 1024 * 1024),
  /**
   * Rate limits and quotas (0 = no limit), counted in Redis so they hold across api instances; a caller past one gets
   * OpenAI's 429 with `retry-after`. Requests per minute per API key and per organization (every authenticated
   * request counts):
   */
  TRACETUNE_RATE_LIMIT_RPM_PER_KEY: limit(3_000),
  TRACETUNE_RATE_LIMIT_RPM_PER_ORG: limit(10_000),
  /** Chat/completion requests in flight at once (streamed or not) per API key and per organization. */
  TRACETUNE_RATE_LIMIT_STREAMS_PER_KEY: limit(32),
  TRACETUNE_RATE_LIMIT_STREAMS_PER_ORG: limit(64),
  /** Fine-tuning jobs per organization not yet finished or paused (validating, queued, running, pausing). */
  TRACETUNE_RATE_LIMIT_ACTIVE_JOBS_PER_ORG: limit(50),
  /** Bytes of file uploads per organization per hour. */
  TRACETUNE_RATE_LIMIT_UPLOAD_BYTES_PER_HOUR: limit(64 * 1024 * 1024 * 1024),
  /**
   * The only folder admins may import models from (`POST /admin/models/import`, `path` relative to it); never the
   * data directory. Unset: importing from the server's disk is off (403); uploads (`POST /v1/models`) still work.
   */
  TRACETUNE_MODEL_IMPORT_DIR: z.string().min(1).optional(),
  /** Largest JSON request body. */
  TRACETUNE_MAX_JSON_BYTES: bytes(10 * 1024 * 1024),
  /** Memory budget of the inference model cache (LRU), in MiB. */
  TRACETUNE_INFERENCE_MEMORY_MB: z.coerce.number().int().positive().default(4096),
  /** Inference engine threads (each with its own copy of the models); 0 = one per CPU core, up to 4, on wasm/cpu. */
  TRACETUNE_INFERENCE_THREADS: z.coerce.number().int().nonnegative().default(0),
  /** MiB of keys/values of running sequences per inference engine thread (at their longest); more requests wait. */
  TRACETUNE_INFERENCE_KV_MB: z.coerce.number().int().positive().default(1024),
  /** Automatic prefix caching: MiB of prompt-prefix keys/values kept per loaded model; 0 turns it off. */
  TRACETUNE_PREFIX_CACHE_MB: z.coerce.number().int().nonnegative().default(64),
  /**
   * Training threads per job, each with its own model replica (data parallelism, docs/trainer.md); 0 = one per CPU
   * core (divided among the jobs a worker runs at once), capped by memory, one for models under 1M parameters.
   */
  TRACETUNE_TRAINING_THREADS: z.coerce.number().int().nonnegative().default(0),
  /** Judge endpoint for score_model / label_model graders (any OpenAI-compatible base URL). */
  TRACETUNE_JUDGE_BASE_URL: z.url().optional(),
  TRACETUNE_JUDGE_API_KEY: z.string().optional(),
  /**
   * Threads per language of the code-grader pool (javascript, python) of each api process and training process:
   * graders run there, never on an HTTP event loop or the training thread.
   */
  TRACETUNE_GRADER_THREADS: z.coerce.number().int().min(1).max(64).default(2),
  /**
   * Time limit of one code grader call through /v1/fine_tuning/alpha/graders/run and validate: a grader's own
   * `timeout_ms` is capped to it there (jobs allow up to 60 000 ms). The thread of a call past it is terminated.
   */
  TRACETUNE_GRADER_RUN_TIMEOUT_MS: z.coerce.number().int().min(10).max(60_000).default(5_000),
  /** Name this worker reports in job events; defaults to host name and pid. */
  TRACETUNE_WORKER_ID: z.string().min(1).optional(),
  /** Folder with the built dashboard, served at /dashboard. */
  TRACETUNE_DASHBOARD_DIR: z.string().min(1).default('apps/dashboard/dist'),
});

/** The validated configuration; INFERENCE_URL is always set (derived from INFERENCE_PORT when not given). */
export type AppConfig = Omit<z.infer<typeof envSchema>, 'INFERENCE_URL'> & { INFERENCE_URL: string };
