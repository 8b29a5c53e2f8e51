import { z } from 'zod';

/**
 * OpenAI's checkpoint permissions (`fineTuning.checkpoints.permissions.*`, sent with an admin key): a fine-tuned
 * model or checkpoint shared with other organizations, which stand for OpenAI's projects (`project_ids`).
 */
export const createCheckpointPermissionSchema = z
  .object({
    project_ids: z
      .array(z.string().min(1))
      .min(1)
      .max(100)
      .describe('Organizations to share the checkpoint with (OpenAI calls them projects).'),
  })
  .strict();
export type CreateCheckpointPermissionRequest = z.infer<typeof createCheckpointPermissionSchema>;

export const listCheckpointPermissionsQuerySchema = z
  .object({
    after: z.string().min(1).optional().describe('Id of the last permission of the previous page.'),
    limit: z.coerce.number().int().min(1).max(100).default(10),
    order: z.enum(['ascending', 'descending']).default('descending'),
    project_id: z.string().min(1).optional(),
  })
  .strict();
export type ListCheckpointPermissionsQuery = z.infer<typeof listCheckpointPermissionsQuerySchema>;

export interface CheckpointPermissionObject {
  id: string;
  object: 'checkpoint.permission';
  created_at: number;
  project_id: string;
}
