import { runGraderRequestSchema, validateGraderRequestSchema } from '@tracetune/contracts';
import { createZodDto } from 'nestjs-zod';

export class RunGraderDto extends createZodDto(runGraderRequestSchema) {}
export class ValidateGraderDto extends createZodDto(validateGraderRequestSchema) {}
