import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import {
  apiKeyObjectSchema,
  createApiKeySchema,
  createdApiKeySchema,
  listApiKeysQuerySchema,
} from '@tracetune/contracts';

export class CreateApiKeyDto extends createZodDto(createApiKeySchema) {}
export class ListApiKeysQueryDto extends createZodDto(listApiKeysQuerySchema) {}
export class ApiKeyDto extends createZodDto(apiKeyObjectSchema) {}
export class CreatedApiKeyDto extends createZodDto(createdApiKeySchema) {}
export class ApiKeyListDto extends createZodDto(
  z.object({ object: z.literal('list'), data: z.array(apiKeyObjectSchema), has_more: z.boolean() }),
) {}
