import { z } from 'zod';

import { cursorPageQuerySchema } from './pagination';

/** Purposes OpenAI accepts at upload; only `fine-tune` files are validated (the others are stored as given). */
export const UPLOAD_PURPOSES = ['fine-tune', 'assistants', 'batch', 'user_data', 'vision', 'evals'] as const;
/** Every purpose a file can have: uploads, and the `fine-tune-results` CSV a succeeded job writes. */
export const FILE_PURPOSES = [...UPLOAD_PURPOSES, 'fine-tune-results'] as const;
export type FilePurpose = (typeof FILE_PURPOSES)[number];

export const fileObjectSchema = z.object({
  id: z.string(),
  object: z.literal('file'),
  bytes: z.number().int(),
  created_at: z.number().int(),
  expires_at: z.number().int().nullable(),
  filename: z.string(),
  purpose: z.enum(FILE_PURPOSES),
  status: z.enum(['uploaded', 'processed', 'error']),
  status_details: z.string().nullable(),
  /** Tracetune extension: the validation report of a fine-tune file (format, counts, tokens, line errors). */
  validation: z.record(z.string(), z.unknown()).nullable().optional(),
});
export type FileObject = z.infer<typeof fileObjectSchema>;

export const listFilesQuerySchema = cursorPageQuerySchema
  .extend({
    purpose: z.enum(FILE_PURPOSES).optional(),
    order: z.enum(['asc', 'desc']).default('desc'),
    limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
  })
  .strict();
export type ListFilesQuery = z.infer<typeof listFilesQuerySchema>;

export const fileDeletedSchema = z.object({
  id: z.string(),
  object: z.literal('file'),
  deleted: z.boolean(),
});

/** The multipart form, for the OpenAPI document (the body is parsed as a stream, not by the validation pipe). */
export const uploadFileFormSchema = z.object({
  file: z.string().describe('The JSONL file (binary).'),
  purpose: z.enum(UPLOAD_PURPOSES),
});
