import { z } from 'zod';

import { idString, storableText } from './strings';

export const API_KEY_ROLES = ['admin', 'member'] as const;
export type ApiKeyRole = (typeof API_KEY_ROLES)[number];

export const createApiKeySchema = z
  .object({
    name: storableText().trim().min(1).max(100).describe('A label to tell keys apart.'),
    role: z.enum(API_KEY_ROLES).default('member').describe('admin keys may manage keys and import models.'),
    organization_id: idString()
      .max(64)
      .optional()
      .describe(
        "Organization the key belongs to; defaults to the caller's. A new id creates the organization.",
      ),
    organization_name: storableText()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .describe('Name for a new organization.'),
  })
  .strict();
export type CreateApiKeyRequest = z.infer<typeof createApiKeySchema>;

/** A key as listed: never the secret itself. */
export const apiKeyObjectSchema = z.object({
  id: z.string(),
  object: z.literal('api_key'),
  name: z.string(),
  role: z.enum(API_KEY_ROLES),
  organization_id: z.string(),
  prefix: z.string().describe('First characters of the key, to recognise it.'),
  created_at: z.number().int().describe('Unix seconds.'),
  last_used_at: z.number().int().nullable(),
  revoked_at: z.number().int().nullable(),
});
export type ApiKeyObject = z.infer<typeof apiKeyObjectSchema>;

/** Returned once, at creation: the only time the secret is shown. */
export const createdApiKeySchema = apiKeyObjectSchema.extend({
  key: z.string().describe('The secret. Shown once; store it now.'),
});
export type CreatedApiKey = z.infer<typeof createdApiKeySchema>;

export const listApiKeysQuerySchema = z
  .object({
    organization_id: idString()
      .max(64)
      .optional()
      .describe("Organization to list; defaults to the caller's."),
  })
  .strict();
