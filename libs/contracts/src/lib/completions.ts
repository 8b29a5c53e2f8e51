import { z } from 'zod';

import { idString } from './strings';

/**
 * POST /v1/chat/completions and /v1/completions: the parameters Tracetune serves. Parameters OpenAI has but Tracetune
 * does not (audio, logit_bias, …) are refused by name rather than silently ignored; those accepted without effect are
 * listed in docs/api-contract.md ("Accepted but ignored").
 */
export const UNSUPPORTED_CHAT_PARAMETERS = [
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

const textPart = z.object({ type: z.literal('text'), text: z.string() }).strict();
/** A refusal the model gave earlier, sent back as part of an assistant message's content. */
const refusalPart = z.object({ type: z.literal('refusal'), refusal: z.string() }).strict();

const toolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().min(1),
        arguments: z.string(),
        /** Added by the SDK's `parse` helpers; not shown to the model. */
        parsed_arguments: z.unknown().optional(),
      })
      .strict(),
  })
  .strict();

/**
 * One message. Besides what a caller writes, it accepts every field of the assistant message the SDK returned, so
 * `messages.push(completion.choices[0].message)` works: `refusal`, `annotations`, `audio: null`, `tool_calls`,
 * `function_call: null`, and `parsed` (added by `chat.completions.parse`). Refusals and annotations are not shown
 * to the model; tool calls and `tool` results are rendered by the chat template (docs/inference.md).
 */
const chatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
    content: z
      .union([z.string(), z.array(z.union([textPart, refusalPart]))])
      .nullable()
      .optional(),
    name: z.string().max(64).optional(),
    refusal: z.string().nullable().optional(),
    annotations: z
      .array(z.object({ type: z.string() }).passthrough())
      .nullable()
      .optional(),
    audio: z.null().optional().describe('Only null: Tracetune models produce no audio.'),
    function_call: z.null().optional().describe('Deprecated by OpenAI; only null (use tool_calls).'),
    tool_calls: z.array(toolCall).nullable().optional(),
    tool_call_id: z.string().min(1).optional(),
    parsed: z.unknown().optional(),
  })
  .strict()
  .superRefine((message, ctx) => {
    if (message.role === 'tool' && message.tool_call_id === undefined)
      ctx.addIssue({ code: 'custom', path: ['tool_call_id'], message: 'is required for role "tool"' });
    if (message.role !== 'tool' && message.tool_call_id !== undefined)
      ctx.addIssue({ code: 'custom', path: ['tool_call_id'], message: 'is only allowed for role "tool"' });
    if (message.role !== 'assistant' && message.tool_calls)
      ctx.addIssue({ code: 'custom', path: ['tool_calls'], message: 'is only allowed for role "assistant"' });
    const hasCalls = (message.tool_calls?.length ?? 0) > 0;
    if ((message.content === undefined || message.content === null) && !hasCalls)
      ctx.addIssue({ code: 'custom', path: ['content'], message: 'is required unless tool_calls are given' });
  });
export type ChatRequestMessage = z.infer<typeof chatMessage>;

/** `response_format.json_schema` (structured outputs): decoding is constrained to the schema whether `strict` or not. */
const jsonSchemaFormat = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, - or _'),
    description: z.string().optional(),
    schema: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  })
  .strict();

const functionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, - or _');

/** A function the model may call (`tools[i]`); `parameters` is a JSON schema in the structured-outputs subset. */
const tool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: functionName,
        description: z.string().optional(),
        parameters: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      })
      .strict(),
  })
  .strict();

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: functionName }).strict() }).strict(),
]);

const stop = z
  .union([z.string().min(1), z.array(z.string().min(1)).max(4)])
  .nullable()
  .optional();

const sampling = {
  model: idString(),
  n: z.number().int().min(1).max(16).nullable().optional().describe('Choices to generate. Default 1.'),
  temperature: z.number().min(0).max(2).nullable().optional().describe('0 = greedy. Default 1.'),
  top_p: z.number().gt(0).max(1).nullable().optional(),
  max_tokens: z.number().int().min(1).nullable().optional(),
  stop,
  seed: z.number().int().nullable().optional().describe('Same seed, same model, same request → same output.'),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
  user: z
    .string()
    .optional()
    .describe('Accepted and ignored (docs/api-contract.md, "Accepted but ignored").'),
  safety_identifier: z.string().max(64).nullable().optional().describe('Accepted and ignored.'),
  prompt_cache_key: z
    .string()
    .nullable()
    .optional()
    .describe('Accepted and ignored: every request uses the prefix cache.'),
  presence_penalty: z.literal(0).nullable().optional().describe('Only 0 is supported.'),
  frequency_penalty: z.literal(0).nullable().optional().describe('Only 0 is supported.'),
  metadata: z
    .record(z.string().max(64), z.string().max(512))
    .nullable()
    .optional()
    .describe('Accepted and ignored: completions are not stored.'),
  store: z
    .boolean()
    .refine((store) => !store, 'stored completions are not implemented; omit store or send false')
    .nullable()
    .optional(),
};

export const chatCompletionRequestSchema = z
  .object({
    ...sampling,
    messages: z.array(chatMessage).min(1),
    max_completion_tokens: z.number().int().min(1).nullable().optional(),
    logprobs: z.boolean().nullable().optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    tools: z
      .array(tool)
      .max(128)
      .optional()
      .describe('Functions the model may call (docs/inference.md, "Tools").'),
    tool_choice: toolChoice
      .optional()
      .describe(
        'none, auto (default with tools), required, or a named function; forced calls are constrained.',
      ),
    parallel_tool_calls: z
      .boolean()
      .optional()
      .describe('Accepted; a forced reply holds exactly one call, a free one as many as the model writes.'),
    response_format: z
      .discriminatedUnion('type', [
        z.object({ type: z.literal('text') }).strict(),
        z.object({ type: z.literal('json_object') }).strict(),
        z.object({ type: z.literal('json_schema'), json_schema: jsonSchemaFormat }).strict(),
      ])
      .nullable()
      .optional()
      .describe(
        'json_object constrains decoding so the output parses; json_schema so that it also matches the schema ' +
          '(a subset of JSON Schema: docs/inference.md). Unsupported keywords are a 400 naming them.',
      ),
  })
  .strict()
  .superRefine((request, ctx) => {
    const choice = request.tool_choice;
    if (choice === undefined || choice === 'none') return;
    const names = new Set((request.tools ?? []).map((t) => t.function.name));
    if (names.size === 0 && choice !== 'auto')
      ctx.addIssue({ code: 'custom', path: ['tool_choice'], message: 'needs tools' });
    if (typeof choice === 'object' && names.size > 0 && !names.has(choice.function.name))
      ctx.addIssue({
        code: 'custom',
        path: ['tool_choice', 'function', 'name'],
        message: `'${choice.function.name}' is not one of the tools`,
      });
  });
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
