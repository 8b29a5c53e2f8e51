import type { GenerationRequest, ModelRef, Prompt } from '@tracetune/serving';

export type Kind = 'chat' | 'completion';

/** What the api forwards: the resolved model and the validated OpenAI request body. */
export interface InternalRequest {
  model: ModelRef;
  body: Record<string, unknown>;
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
    const messages = (body['messages'] as { role: string; content: unknown; name?: string }[]).map((m) => ({
      role: m.role,
      content:
        typeof m.content === 'string'
          ? m.content
          : Array.isArray(m.content)
            ? m.content.map((p: { text?: string }) => p.text ?? '').join('')
            : '',
      ...(m.name ? { name: m.name } : {}),
    }));
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
