import { z } from 'zod';

export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  /** Tracetune extensions: what the model is and where it came from. */
  kind: 'base' | 'fine_tuned' | 'checkpoint';
  source: 'builtin' | 'imported' | 'trained';
  parent: string | null;
  fine_tuning_job: string | null;
}

export const importModelSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .describe(
        'A Hugging Face layout directory on the server (config.json, *.safetensors, tokenizer files).',
      ),
    id: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/,
        'must look like name or owner/name',
      )
      .max(128)
      .optional()
      .describe('Model id to register; defaults to the directory name.'),
  })
  .strict();
export type ImportModelRequest = z.infer<typeof importModelSchema>;

/** The dtypes a model download can be written in (`GET /v1/models/{model}/content?dtype=`). */
export const EXPORT_DTYPES = ['bfloat16', 'float16', 'float32'] as const;
export type ExportDtype = (typeof EXPORT_DTYPES)[number];

export const modelContentQuerySchema = z
  .object({
    dtype: z
      .enum(EXPORT_DTYPES)
      .optional()
      .describe("Dtype of model.safetensors in the download; defaults to the base model's dtype."),
  })
  .strict();
export type ModelContentQuery = z.infer<typeof modelContentQuerySchema>;
