/**
 * Every Prometheus metric Tracetune exports, in one place: the apps build their metrics from these definitions, the
 * Grafana dashboard's spec checks each query against them, and the end-to-end specs check each app exports its own.
 *
 * Naming follows Prometheus: a `tracetune_` prefix, base units in the name (`_seconds`, `_bytes`), `_total` on
 * counters, `_info` on a constant-1 gauge whose labels carry the facts. Labels are low-cardinality by design: no job,
 * request or model ids (those belong in logs and the API).
 */
export type App = 'api' | 'worker' | 'inference';

interface BaseDefinition {
  name: string;
  help: string;
  labelNames: readonly string[];
  /** The apps that export it. */
  apps: readonly App[];
}

export interface CounterDefinition extends BaseDefinition {
  type: 'counter';
}
export interface GaugeDefinition extends BaseDefinition {
  type: 'gauge';
}
export interface HistogramDefinition extends BaseDefinition {
  type: 'histogram';
  buckets: readonly number[];
}
export type MetricDefinition = CounterDefinition | GaugeDefinition | HistogramDefinition;

const counter = (d: Omit<CounterDefinition, 'type'>): CounterDefinition => ({ type: 'counter', ...d });
const gauge = (d: Omit<GaugeDefinition, 'type'>): GaugeDefinition => ({ type: 'gauge', ...d });
const histogram = (d: Omit<HistogramDefinition, 'type'>): HistogramDefinition => ({
  type: 'histogram',
  ...d,
});

/** Seconds from milliseconds to ten minutes: training steps on tiny models take 0.1 s, on large ones minutes. */
const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Token latencies: a decode step of a small model is milliseconds; a queued first token can wait seconds. */
const TOKEN_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export const METRICS = {
  // ------------------------------------------------------------------------------------------------ api
  httpRequestDuration: histogram({
    name: 'tracetune_http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    apps: ['api'],
  }),

  // ------------------------------------------------------------------------------------------------ cluster state
  queueJobs: gauge({
    name: 'tracetune_queue_jobs',
    help: 'Bull jobs per queue and state (waiting, active, delayed, failed, completed, paused), read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    apps: ['api', 'worker'],
  }),
  fineTuningJobs: gauge({
    name: 'tracetune_fine_tuning_jobs',
    help: 'Fine-tuning jobs per status, read from PostgreSQL at scrape time (one grouped count)',
    labelNames: ['status'],
    apps: ['api', 'worker'],
  }),

  // ------------------------------------------------------------------------------------------------ worker
  workerInfo: gauge({
    name: 'tracetune_worker_info',
    help: 'Constant 1; labels: this worker, its TensorFlow.js backend, accelerator and the queues it consumes',
    labelNames: ['worker_id', 'backend', 'accelerator', 'queues'],
    apps: ['worker'],
  }),
  workerRunningJobs: gauge({
    name: 'tracetune_worker_running_jobs',
    help: 'Fine-tuning jobs this worker is running now (0 or 1)',
    labelNames: [],
    apps: ['worker'],
  }),
  workerJobs: counter({
    name: 'tracetune_worker_jobs_total',
    help: 'Job runs this worker ended, by how they ended (succeeded, failed, cancelled, paused)',
    labelNames: ['outcome'],
    apps: ['worker'],
  }),
  trainingStepDuration: histogram({
    name: 'tracetune_training_step_duration_seconds',
    help: 'Wall time of one optimisation step, by method (reinforcement: sampling + grading + update)',
    labelNames: ['method'],
    buckets: STEP_BUCKETS,
    apps: ['worker'],
  }),
  trainingPhaseDuration: histogram({
    name: 'tracetune_training_phase_duration_seconds',
    help: 'Wall time of each phase of a reinforcement step: sampling, grading, reference, update',
    labelNames: ['phase'],
    buckets: STEP_BUCKETS,
    apps: ['worker'],
  }),
  trainingTrainedTokens: counter({
    name: 'tracetune_training_trained_tokens_total',
    help: 'Tokens the optimiser trained on, by method',
    labelNames: ['method'],
    apps: ['worker'],
  }),
  trainingSampledTokens: counter({
    name: 'tracetune_training_sampled_tokens_total',
    help: 'Completion tokens sampled from the policy during reinforcement fine-tuning',
    labelNames: [],
    apps: ['worker'],
  }),
  checkpointPublishDuration: histogram({
    name: 'tracetune_checkpoint_publish_duration_seconds',
    help: 'Time to publish a checkpoint or final model to artifact storage (a rename locally, an upload on S3)',
    labelNames: [],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    apps: ['worker'],
  }),

  // ------------------------------------------------------------------------------------------------ inference
  inferenceRequests: counter({
    name: 'tracetune_inference_requests_total',
    help: 'Generation requests by how they ended (done, error, cancelled)',
    labelNames: ['outcome'],
    apps: ['inference'],
  }),
  inferenceTimeToFirstToken: histogram({
    name: 'tracetune_inference_time_to_first_token_seconds',
    help: 'From a request reaching the engines to its first generated token (queueing and prefill included)',
    labelNames: [],
    buckets: TOKEN_BUCKETS,
    apps: ['inference'],
  }),
  inferenceInterTokenLatency: histogram({
    name: 'tracetune_inference_inter_token_latency_seconds',
    help: 'Time between consecutive tokens of one sequence',
    labelNames: [],
    buckets: TOKEN_BUCKETS,
    apps: ['inference'],
  }),
  inferenceRunningSequences: gauge({
    name: 'tracetune_inference_running_sequences',
    help: 'Sequences decoding in a batch, per engine thread',
    labelNames: ['engine'],
    apps: ['inference'],
  }),
  inferenceWaitingSequences: gauge({
    name: 'tracetune_inference_waiting_sequences',
    help: 'Sequences waiting to join a batch (for KV budget), per engine thread',
    labelNames: ['engine'],
    apps: ['inference'],
  }),
  inferenceKvReserved: gauge({
    name: 'tracetune_inference_kv_reserved_bytes',
    help: 'Keys/values the running batches may grow to (what the KV budget admits against), per engine thread',
    labelNames: ['engine'],
    apps: ['inference'],
  }),
  inferenceKvBudget: gauge({
    name: 'tracetune_inference_kv_budget_bytes',
    help: 'KV budget per engine thread (TRACETUNE_INFERENCE_KV_MB)',
    labelNames: ['engine'],
    apps: ['inference'],
  }),
  inferenceBatchSize: histogram({
    name: 'tracetune_inference_batch_size',
    help: 'Rows (sequences) in each decode step',
    labelNames: [],
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    apps: ['inference'],
  }),
  inferenceGeneratedTokens: counter({
    name: 'tracetune_inference_generated_tokens_total',
    help: 'Tokens generated (one per row per decode step); rate() of it is the tokens/s served',
    labelNames: [],
    apps: ['inference'],
  }),
  inferencePromptTokens: counter({
    name: 'tracetune_inference_prompt_tokens_total',
    help: 'Prompt tokens of accepted requests',
    labelNames: [],
    apps: ['inference'],
  }),
  inferenceModelLoads: counter({
    name: 'tracetune_inference_model_loads_total',
    help: 'Models loaded into an engine thread (cache misses)',
    labelNames: [],
    apps: ['inference'],
  }),
  inferenceModelEvictions: counter({
    name: 'tracetune_inference_model_evictions_total',
    help: 'Models evicted from an engine thread to stay within TRACETUNE_INFERENCE_MEMORY_MB',
    labelNames: [],
    apps: ['inference'],
  }),
  inferenceModelCacheBytes: gauge({
    name: 'tracetune_inference_model_cache_bytes',
    help: 'Memory the models resident in an engine thread take (weights, inference copies, prefix cache)',
    labelNames: ['engine'],
    apps: ['inference'],
  }),
} satisfies Record<string, MetricDefinition>;

/** Node.js process metrics (prom-client's defaults) carry this prefix too: tracetune_process_cpu_seconds_total, … */
export const DEFAULT_METRICS_PREFIX = 'tracetune_';

/** The names an app's /metrics exposes beyond the Node.js defaults. */
export function metricNames(app: App): string[] {
  return Object.values(METRICS as Record<string, MetricDefinition>)
    .filter((m) => m.apps.includes(app))
    .map((m) => m.name);
}
