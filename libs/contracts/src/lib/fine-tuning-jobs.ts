import { z } from 'zod';

import { hyperparametersSchema, methodSchema } from './fine-tuning-settings';
import { cursorPageQuerySchema } from './pagination';
import { CONTROL_CHARACTERS, idString, storableText } from './strings';

/**
 * POST /v1/fine_tuning/jobs, as OpenAI defines it. The training settings inside `method` (hyperparameters and
 * Tracetune's `algorithm` and `lora` extensions) are owned by fine-tuning-settings.ts: documented, defaulted and
 * range-checked there, so a bad value is a 400 naming its `param`.
 */
export const createFineTuningJobSchema = z
  .object({
    model: idString().describe(
      'A base model (tt-nano, tt-micro, tt-mini, an imported one) or one of your fine-tuned models.',
    ),
    training_file: idString(),
    validation_file: idString().nullable().optional(),
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
      .record(idString().max(64), storableText().max(512))
      .refine((m) => Object.keys(m).length <= 16, 'at most 16 keys')
      .nullable()
      .optional(),
    integrations: z
      .array(
        z
          .object({ type: z.string() })
          .passthrough()
          .refine(() => false, {
            message: 'integrations (Weights and Biases) are not supported; omit them or send []',
            path: ['type'],
          }),
      )
      .nullable()
      .optional()
      .describe('Only null or []: no integration (Weights and Biases) is supported.'),
  })
  .strict();
export type CreateFineTuningJobRequest = z.infer<typeof createFineTuningJobSchema>;

/** `after`, `limit` and `metadata[key]=value` filters (one value each); anything else is refused by name. */
export const listJobsQuerySchema = cursorPageQuerySchema
  .catchall(storableText().max(512))
  .superRefine((query, ctx) => {
    for (const key of Object.keys(query)) {
      if (key === 'after' || key === 'limit') continue;
      const name = /^metadata\[(.+)\]$/.exec(key)?.[1];
      if (name === undefined) {
        ctx.addIssue({
          code: 'unrecognized_keys',
          keys: [key],
          path: [],
          message: `Unrecognized query parameter: ${key}`,
        });
      } else if (CONTROL_CHARACTERS.test(name) || name.length > 64) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'a metadata key is 1–64 characters without control characters',
        });
      }
    }
  });
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
  /**
   * Tracetune extension: why a `queued` job waits when no live worker consumes its queue (e.g. a model above
   * TRACETUNE_CPU_MAX_PARAMS and no GPU worker), else null.
   */
  status_details: string | null;
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
