import { z } from 'zod';

import { cursorPageQuerySchema } from './pagination';

/**
 * POST /v1/fine_tuning/jobs, as OpenAI defines it, plus Tracetune's extension keys inside
 * `method.reinforcement` (`algorithm`, `lora`), which OpenAI SDKs pass through. Every field is documented, defaulted
 * (defaults are resolved and stored on the job) and range-checked here, so a bad value is a 400 naming its `param`.
 */
const auto = z.literal('auto');
const autoOr = <T extends z.ZodType>(schema: T) => z.union([auto, schema]);

export const hyperparametersSchema = z
  .object({
    n_epochs: autoOr(z.number().int().min(1).max(50))
      .optional()
      .describe('Passes over the training file. auto: 1 (RL), 3 (SFT).'),
    batch_size: autoOr(z.number().int().min(1).max(256))
      .optional()
      .describe(
        'Prompts (RL) or examples (SFT) per optimisation step. auto: min(4, examples) for RL, min(8, examples) for SFT.',
      ),
    learning_rate_multiplier: autoOr(z.number().positive().max(100))
      .optional()
      .describe('Multiplies the base learning rate of the trainer (see docs/trainer.md). auto: 1.'),
    eval_interval: autoOr(z.number().int().min(1).max(100_000))
      .optional()
      .describe('Steps between evaluations. auto: about 10 per run.'),
    eval_samples: autoOr(z.number().int().min(1).max(64))
      .optional()
      .describe('Samples per validation prompt. auto: 4.'),
    compute_multiplier: autoOr(z.number().positive().max(16))
      .optional()
      .describe('Scales completions sampled per prompt. auto: 1.'),
    reasoning_effort: z
      .enum(['default', 'low', 'medium', 'high'])
      .optional()
      .describe('Accepted for compatibility; ignored.'),
  })
  .strict();
export type HyperparametersInput = z.infer<typeof hyperparametersSchema>;

export const ALGORITHM_NAMES = ['grpo_lambda', 'grpo'] as const;

export const algorithmSchema = z
  .object({
    name: z.enum(ALGORITHM_NAMES).optional().describe('grpo_lambda (default) or grpo.'),
    lambda: z.number().min(0).max(1).optional().describe('Trace decay λ ∈ [0,1]. Default 0.99.'),
    gamma: z.number().min(0).max(1).optional().describe('Discount γ ∈ [0,1]. Default 1.'),
    trace_style: z.enum(['recent', 'both']).optional().describe("Eligibility trace style. Default 'both'."),
    variant: z
      .enum(['eps_trace', 'eps_weight'])
      .optional()
      .describe("Where the trace enters the objective. Default 'eps_trace'."),
    advantage_clamp_min: z
      .number()
      .max(0)
      .nullable()
      .optional()
      .describe('Lower clamp of advantages; null disables. Default −0.1 (grpo_lambda), null (grpo).'),
    num_generations: z
      .number()
      .int()
      .min(2)
      .max(64)
      .optional()
      .describe('Completions sampled per prompt (group size G). Default 8.'),
    beta: z
      .number()
      .min(0)
      .max(10)
      .optional()
      .describe('KL coefficient to the reference model (0 = no reference model). Default 0.'),
    epsilon: z.number().gt(0).lt(1).optional().describe('PPO clip range. Default 0.2.'),
    epsilon_high: z
      .number()
      .gt(0)
      .lt(10)
      .optional()
      .describe('Upper clip range (DAPO clip-higher). Default epsilon.'),
    loss_aggregation: z
      .enum(['seq-mean-token-mean', 'token-mean', 'seq-mean-token-sum-norm'])
      .optional()
      .describe("Default 'seq-mean-token-mean'."),
    scale_rewards: z
      .enum(['group', 'batch', 'none'])
      .optional()
      .describe("Advantage std normalisation. Default 'group'."),
    max_completion_tokens: z
      .number()
      .int()
      .min(1)
      .max(8192)
      .optional()
      .describe('Longest sampled completion. Default 128.'),
    temperature: z.number().gt(0).max(2).optional().describe('Sampling temperature. Default 1.'),
    top_p: z.number().gt(0).max(1).optional().describe('Nucleus sampling mass. Default 1.'),
    ppo_epochs: z
      .number()
      .int()
      .min(1)
      .max(16)
      .optional()
      .describe('Optimisation passes over each sampled batch (μ). Default 1.'),
    micro_batch_size: z
      .number()
      .int()
      .min(1)
      .max(256)
      .optional()
      .describe('Prompts per micro-batch (gradient accumulation). Default batch_size.'),
  })
  .strict();
export type AlgorithmInput = z.infer<typeof algorithmSchema>;

export const LORA_TARGET_MODULES = [
  'q_proj',
  'k_proj',
  'v_proj',
  'o_proj',
  'gate_proj',
  'up_proj',
  'down_proj',
] as const;

export const loraSchema = z
  .object({
    rank: z.number().int().min(1).max(256).optional().describe('Adapter rank. Default 8.'),
    alpha: z.number().positive().max(1024).optional().describe('Scaling α (update × α/rank). Default 16.'),
    dropout: z.number().min(0).lt(1).optional().describe('Dropout on the adapter input. Default 0.'),
    target_modules: z
      .array(z.enum(LORA_TARGET_MODULES))
      .min(1)
      .optional()
      .describe('Projections to adapt. Default all seven (q, k, v, o, gate, up, down).'),
  })
  .strict();
export type LoraInput = z.infer<typeof loraSchema>;

export const methodSchema = z
  .object({
    type: z.enum(['supervised', 'reinforcement', 'dpo']),
    supervised: z.object({ hyperparameters: hyperparametersSchema.optional() }).strict().optional(),
    reinforcement: z
      .object({
        grader: z.record(z.string(), z.unknown()).describe('An OpenAI grader (or math_answer / javascript).'),
        hyperparameters: hyperparametersSchema.optional(),
        algorithm: algorithmSchema.optional().describe('Tracetune extension: the RL algorithm.'),
        lora: loraSchema
          .nullable()
          .optional()
          .describe('Tracetune extension: LoRA adapters (absent: full fine-tuning).'),
      })
      .strict()
      .optional(),
    dpo: z.unknown().optional(),
  })
  .strict();
export type MethodInput = z.infer<typeof methodSchema>;

export const createFineTuningJobSchema = z
  .object({
    model: z
      .string()
      .min(1)
      .describe(
        'A base model (tt-nano, tt-micro, tt-mini, an imported one) or one of your fine-tuned models.',
      ),
    training_file: z.string().min(1),
    validation_file: z.string().min(1).nullable().optional(),
    hyperparameters: hyperparametersSchema
      .optional()
      .describe('Deprecated by OpenAI in favour of method.*.hyperparameters.'),
    method: methodSchema.optional(),
    suffix: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, - or _')
      .nullable()
      .optional(),
    seed: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
    metadata: z
      .record(z.string().max(64), z.string().max(512))
      .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys')
      .nullable()
      .optional(),
    integrations: z.array(z.unknown()).nullable().optional().describe('Accepted for compatibility; ignored.'),
  })
  .strict();
export type CreateFineTuningJobRequest = z.infer<typeof createFineTuningJobSchema>;

export const listJobsQuerySchema = cursorPageQuerySchema.catchall(z.string());
export const listEventsQuerySchema = cursorPageQuerySchema.strict();

export const JOB_STATUSES = [
  'validating_files',
  'queued',
  'running',
  'pausing',
  'paused',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type JobStatusName = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatusName[] = ['succeeded', 'failed', 'cancelled'];

export interface FineTuningJobObject {
  id: string;
  object: 'fine_tuning.job';
  created_at: number;
  finished_at: number | null;
  model: string;
  fine_tuned_model: string | null;
  organization_id: string;
  status: JobStatusName;
  error: { code: string; message: string; param: string | null } | null;
  hyperparameters: Record<string, unknown>;
  method: Record<string, unknown>;
  result_files: string[];
  trained_tokens: number | null;
  training_file: string;
  validation_file: string | null;
  seed: number;
  metadata: Record<string, string> | null;
  estimated_finish: number | null;
  integrations: null;
  user_provided_suffix: string | null;
  /** Tracetune extension: progress. */
  progress: { step: number; total_steps: number | null };
}

export interface FineTuningEventObject {
  id: string;
  object: 'fine_tuning.job.event';
  created_at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
  type: 'message' | 'metrics';
  data: Record<string, unknown> | null;
}

export interface FineTuningCheckpointObject {
  id: string;
  object: 'fine_tuning.job.checkpoint';
  created_at: number;
  fine_tuned_model_checkpoint: string;
  fine_tuning_job_id: string;
  metrics: Record<string, number>;
  step_number: number;
}

/**
 * `ft:<base>:<org>:<suffix>:<job id short>`; checkpoints append `:ckpt-step-<N>`. A model fine-tuned from a
 * fine-tuned model names the original base, as OpenAI does, so ids do not nest.
 */
export function fineTunedModelId(job: {
  id: string;
  model: string;
  organizationId: string;
  suffix: string | null;
}): string {
  const base = job.model.startsWith('ft:') ? job.model.split(':')[1] : job.model;
  return `ft:${base}:${job.organizationId}:${job.suffix ?? ''}:${job.id.slice('ftjob-'.length, 'ftjob-'.length + 8)}`;
}

export function checkpointModelId(fineTunedModel: string, step: number): string {
  return `${fineTunedModel}:ckpt-step-${step}`;
}
