import type { ChatRequestMessage } from '@tracetune/contracts';
import type { GenerationRequest, ModelRef, Prompt, PromptMessage, PromptToolCall } from '@tracetune/serving';

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
    prompts = [{ kind: 'chat', messages }];
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
    format:
      (body['response_format'] as { type?: string } | undefined)?.type === 'json_object'
        ? { type: 'json_object' }
        : { type: 'text' },
    promptParam: kind === 'chat' ? 'messages' : 'prompt',
  };
}
