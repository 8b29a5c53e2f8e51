import { createZodDto } from 'nestjs-zod';

import { runGraderRequestSchema, validateGraderRequestSchema } from '@tracetune/contracts';

export class RunGraderDto extends createZodDto(runGraderRequestSchema) {}
export class ValidateGraderDto extends createZodDto(validateGraderRequestSchema) {}
