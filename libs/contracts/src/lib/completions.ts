import { z } from 'zod';

/**
 * POST /v1/chat/completions and /v1/completions: the parameters Tracetune serves. Parameters OpenAI has but Tracetune
 * does not (tools, audio, …) are refused by name rather than silently ignored.
 */
export const UNSUPPORTED_CHAT_PARAMETERS = [
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'functions',
  'function_call',
  'audio',
  'modalities',
  'prediction',
  'web_search_options',
  'logit_bias',
  'reasoning_effort',
  'service_tier',
  'verbosity',
] as const;

const contentPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
const chatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z.union([z.string(), z.array(contentPart)]).nullable(),
    name: z.string().max(64).optional(),
  })
  .strict();

const stop = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
  .nullable()
  .optional();

const sampling = {
  model: z.string().min(1),
  n: z.number().int().min(1).max(16).nullable().optional().describe('Choices to generate. Default 1.'),
  temperature: z.number().min(0).max(2).nullable().optional().describe('0 = greedy. Default 1.'),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  stop,
  seed: z.number().int().nullable().optional().describe('Same seed, same model, same request → same output.'),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
  user: z.string().optional(),
  presence_penalty: z.literal(0).nullable().optional().describe('Only 0 is supported.'),
  frequency_penalty: z.literal(0).nullable().optional().describe('Only 0 is supported.'),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  store: z.boolean().nullable().optional(),
};

export const chatCompletionRequestSchema = z
  .object({
    ...sampling,
    messages: z.array(chatMessage).min(1),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    response_format: z
      .object({ type: z.enum(['text', 'json_object']) })
      .strict()
      .nullable()
      .optional()
      .describe('json_object constrains decoding so the output parses.'),
  })
  .strict();
export type ChatCompletionRequest = z.infer<typeof chatCompletionRequestSchema>;

export const completionRequestSchema = z
  .object({
    ...sampling,
    prompt: z.union([
      z.string(),
      z.array(z.string()).min(1).max(16),
      z.array(z.number().int().min(0)).min(1),
    ]),
    logprobs: z.number().int().min(0).max(5).nullable().optional(),
    echo: z.literal(false).nullable().optional(),
    best_of: z.literal(1).nullable().optional(),
    suffix: z.null().optional(),
  })
  .strict();
export type CompletionRequest = z.infer<typeof completionRequestSchema>;
