import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { fileDeletedSchema, fileObjectSchema, listFilesQuerySchema } from '@tracetune/contracts';

export class ListFilesQueryDto extends createZodDto(listFilesQuerySchema) {}
export class FileObjectDto extends createZodDto(fileObjectSchema) {}
export class FileDeletedDto extends createZodDto(fileDeletedSchema) {}
export class FileListDto extends createZodDto(
  z.object({ object: z.literal('list'), data: z.array(fileObjectSchema), has_more: z.boolean() }),
) {}
