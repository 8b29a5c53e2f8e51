import { z } from 'zod';

/** Grader JSON is validated in depth by libs/graders (per type); the edge only checks the envelope. */
const graderJson = z
  .record(z.string(), z.unknown())
  .describe('A grader, as OpenAI defines them, or a Tracetune extension type.');

export const runGraderRequestSchema = z
  .object({
    grader: graderJson,
    model_sample: z.string().describe('The model output to grade, as `{{sample.output_text}}`.'),
    item: z.unknown().optional().describe('The dataset row, as `{{item.*}}`.'),
  })
  .strict();

export const validateGraderRequestSchema = z.object({ grader: graderJson }).strict();
