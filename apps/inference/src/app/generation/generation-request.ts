import type { ChatCompletionRequest, ChatRequestMessage } from '@tracetune/contracts';
import {
  compileJsonSchema,
  deref,
  UnsupportedSchemaError,
  type GenerationRequest,
  type ModelRef,
  type OutputFormat,
  type Prompt,
  type PromptMessage,
  type PromptToolCall,
  type ToolSpec,
} from '@tracetune/serving';

export type Kind = 'chat' | 'completion';

/** What the api forwards: the resolved model and the validated OpenAI request body. */
export interface InternalRequest {
  model: ModelRef;
  body: Record<string, unknown>;
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * A request message as the chat template sees it: text parts joined (refusals, annotations and `parsed` are not part
 * of the conversation the model reads), tool calls with their arguments parsed.
 */
export function toPromptMessage(m: ChatRequestMessage): PromptMessage {
  const content =
    typeof m.content === 'string'
      ? m.content
      : Array.isArray(m.content)
        ? m.content.map((p) => (p.type === 'text' ? p.text : '')).join('')
        : '';
  const calls: PromptToolCall[] | undefined = m.tool_calls?.length
    ? m.tool_calls.map((c) => ({
        id: c.id,
        type: 'function',
        function: { name: c.function.name, arguments: parseArguments(c.function.arguments) },
      }))
    : undefined;
  return {
    role: m.role,
    content,
    ...(m.name ? { name: m.name } : {}),
    ...(calls ? { tool_calls: calls } : {}),
    ...(m.tool_call_id ? { tool_call_id: m.tool_call_id } : {}),
  };
}

/** A request the api let through that inference cannot serve (a schema outside the supported subset). */
export class InvalidGenerationRequest extends Error {
  constructor(
    message: string,
    readonly param: string,
    readonly code: string,
  ) {
    super(message);
  }
}

type ResponseFormat = NonNullable<ChatCompletionRequest['response_format']>;

/** Compiles a schema once to refuse what decoding cannot honour, naming the place (`<param>.properties.x.format`). */
export function checkSchema(schema: Record<string, unknown>, param: string): void {
  try {
    if (deref(compileJsonSchema(schema)).kind !== 'object') {
      throw new UnsupportedSchemaError("the root of the schema must be of type 'object'", 'type');
    }
  } catch (error) {
    if (!(error instanceof UnsupportedSchemaError)) throw error;
    const where = error.path ? `${param}.${error.path}` : param;
    throw new InvalidGenerationRequest(
      `Invalid schema for '${where}': ${error.message}.`,
      where,
      'unsupported_schema',
    );
  }
}

type ToolChoice = NonNullable<ChatCompletionRequest['tool_choice']>;

/** The request's functions, their schemas checked (`tools[i].function.parameters.…` names a bad keyword). */
export function toolsOf(body: Record<string, unknown>): ToolSpec[] {
  const tools = (body['tools'] as NonNullable<ChatCompletionRequest['tools']> | undefined) ?? [];
  return tools.map((t, i) => {
    const parameters = t.function.parameters ?? null;
    if (parameters) checkSchema(parameters, `tools[${i}].function.parameters`);
    return { name: t.function.name, parameters };
  });
}

/** The tools as the chat template lists them: name, description and parameters (without `$schema` or `strict`). */
function templateTools(body: Record<string, unknown>): unknown[] {
  const tools = (body['tools'] as NonNullable<ChatCompletionRequest['tools']> | undefined) ?? [];
  return tools.map(({ function: f }) => {
    const { $schema: _schema, ...parameters } = f.parameters ?? { type: 'object', properties: {} };
    return {
      type: 'function',
      function: { name: f.name, ...(f.description ? { description: f.description } : {}), parameters },
    };
  });
}

/** Names of the functions whose calls are parsed out of the reply; null when the reply is plain text. */
export function callableTools(body: Record<string, unknown>): Set<string> | null {
  const tools = toolsOf(body);
  const choice = (body['tool_choice'] as ToolChoice | undefined) ?? 'auto';
  if (tools.length === 0 || choice === 'none') return null;
  return new Set(tools.map((t) => t.name));
}

/** `tool_choice` required or a named function: the reply is exactly one call, decoded under its schema. */
function forcedTools(body: Record<string, unknown>): OutputFormat | null {
  const choice = body['tool_choice'] as ToolChoice | undefined;
  const tools = toolsOf(body);
  if (tools.length === 0 || choice === undefined || choice === 'none' || choice === 'auto') return null;
  if (choice === 'required') return { type: 'tool_call', tools };
  return { type: 'tool_call', tools: tools.filter((t) => t.name === choice.function.name) };
}

function outputFormat(format: ResponseFormat | null | undefined): OutputFormat {
  if (format?.type === 'json_object') return { type: 'json_object' };
  if (format?.type !== 'json_schema') return { type: 'text' };
  const schema = format.json_schema.schema;
  if (!schema) return { type: 'json_object' };
  checkSchema(schema, 'response_format.json_schema.schema');
  return { type: 'json_schema', schema };
}

/** The scheduler's request for an OpenAI chat or legacy completions body (already validated by the api). */
export function toGeneration(kind: Kind, id: string, { model, body }: InternalRequest): GenerationRequest {
  const stop =
    body['stop'] === undefined || body['stop'] === null
      ? []
      : Array.isArray(body['stop'])
        ? (body['stop'] as string[])
        : [body['stop'] as string];
  let prompts: Prompt[];
  if (kind === 'chat') {
    const messages = (body['messages'] as ChatRequestMessage[]).map(toPromptMessage);
    const tools = toolsOf(body);
    prompts = [{ kind: 'chat', messages, ...(tools.length > 0 ? { tools: templateTools(body) } : {}) }];
  } else {
    const prompt = body['prompt'];
    const list = Array.isArray(prompt) ? prompt : [prompt];
    prompts =
      typeof list[0] === 'number'
        ? [{ kind: 'tokens', tokens: list as number[] }]
        : list.map((p) =>
            Array.isArray(p)
              ? { kind: 'tokens' as const, tokens: p as number[] }
              : { kind: 'text' as const, text: String(p) },
          );
  }
  const logprobs = kind === 'chat' ? body['logprobs'] === true : typeof body['logprobs'] === 'number';
  return {
    id,
    model,
    prompts,
    n: (body['n'] as number | undefined) ?? 1,
    maxTokens:
      (body['max_completion_tokens'] as number | undefined) ??
      (body['max_tokens'] as number | undefined) ??
      (kind === 'completion' ? 16 : null),
    temperature: (body['temperature'] as number | undefined) ?? 1,
    topP: (body['top_p'] as number | undefined) ?? 1,
    seed: (body['seed'] as number | undefined) ?? null,
    stop,
    logprobs,
    topLogprobs:
      kind === 'chat'
        ? ((body['top_logprobs'] as number | undefined) ?? 0)
        : ((body['logprobs'] as number | undefined) ?? 0),
    format: forcedTools(body) ?? outputFormat(body['response_format'] as ResponseFormat | null | undefined),
    promptParam: kind === 'chat' ? 'messages' : 'prompt',
    maxTokensParam: maxTokensParam(body),
  };
}

/** The parameter that set the completion budget, if the caller set one (`max_completion_tokens` wins). */
function maxTokensParam(body: Record<string, unknown>): string | undefined {
  if (typeof body['max_completion_tokens'] === 'number') return 'max_completion_tokens';
  if (typeof body['max_tokens'] === 'number') return 'max_tokens';
  return undefined;
}
