import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';

import { randomToken } from '@tracetune/contracts';

import { EngineClient } from '../engine/engine.client';
import type { FromEngine, GenerationRequest, ModelRef, Prompt, TokenLogprobInfo } from '../engine/protocol';

export type Kind = 'chat' | 'completion';

/** What the api forwards: the resolved model and the validated OpenAI request body. */
export interface InternalRequest {
  model: ModelRef;
  body: Record<string, unknown>;
}

interface Choice {
  text: string;
  logprobs: TokenLogprobInfo[];
  finish: 'stop' | 'length' | null;
}

function toGeneration(kind: Kind, id: string, { model, body }: InternalRequest): GenerationRequest {
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
    json: (body['response_format'] as { type?: string } | undefined)?.type === 'json_object',
    promptParam: kind === 'chat' ? 'messages' : 'prompt',
  };
}

function chatLogprobs(infos: TokenLogprobInfo[]) {
  return {
    content: infos.map((i) => ({ token: i.token, logprob: i.logprob, bytes: i.bytes, top_logprobs: i.top })),
    refusal: null,
  };
}

function completionLogprobs(infos: TokenLogprobInfo[], offset: number) {
  let at = offset;
  const text_offset = infos.map((i) => {
    const here = at;
    at += i.token.length;
    return here;
  });
  return {
    tokens: infos.map((i) => i.token),
    token_logprobs: infos.map((i) => i.logprob),
    top_logprobs: infos.map((i) => Object.fromEntries(i.top.map((t) => [t.token, t.logprob]))),
    text_offset,
  };
}

/** Turns engine events into OpenAI chat/completions responses, streamed (SSE) or whole. */
@Injectable()
export class GenerationService {
  constructor(private readonly engine: EngineClient) {}

  serve(kind: Kind, internal: InternalRequest, request: Request, response: Response): void {
    const id = `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomToken(24)}`;
    const generation = toGeneration(kind, id, internal);
    const created = Math.floor(Date.now() / 1000);
    const stream = internal.body['stream'] === true;
    const includeUsage =
      (internal.body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
    const object =
      kind === 'chat' ? (stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    const total = generation.prompts.length * generation.n;
    const choices: Choice[] = Array.from({ length: total }, () => ({ text: '', logprobs: [], finish: null }));
    let started = false;
    let ended = false;
    const write = (data: unknown) => response.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (
      index: number,
      delta: { text?: string; role?: string },
      logprobs: TokenLogprobInfo[] | null,
      finish: string | null,
    ) => {
      const choice =
        kind === 'chat'
          ? {
              index,
              delta: delta.role
                ? { role: delta.role, content: delta.text ?? '' }
                : delta.text !== undefined
                  ? { content: delta.text }
                  : {},
              logprobs: logprobs ? chatLogprobs(logprobs) : null,
              finish_reason: finish,
            }
          : {
              index,
              text: delta.text ?? '',
              logprobs: logprobs
                ? completionLogprobs(logprobs, choices[index].text.length - (delta.text ?? '').length)
                : null,
              finish_reason: finish,
            };
      write({
        id,
        object,
        created,
        model: internal.model.id,
        system_fingerprint: 'tracetune',
        choices: [choice],
        ...(includeUsage ? { usage: null } : {}),
      });
    };
    response.on('close', () => {
      if (!ended) this.engine.cancel(id); // a closed stream frees its batch slot
    });
    this.engine.submit(generation, (event: FromEngine) => {
      if (ended) return;
      switch (event.type) {
        case 'accepted':
          started = true;
          if (stream) {
            response.writeHead(200, {
              'content-type': 'text/event-stream; charset=utf-8',
              'cache-control': 'no-cache',
              connection: 'keep-alive',
            });
            response.flushHeaders();
            if (kind === 'chat')
              for (let i = 0; i < total; i++) chunk(i, { role: 'assistant', text: '' }, null, null);
          }
          break;
        case 'delta': {
          const choice = choices[event.choice];
          choice.text += event.text;
          choice.logprobs.push(...event.logprobs);
          if (stream)
            chunk(event.choice, { text: event.text }, generation.logprobs ? event.logprobs : null, null);
          break;
        }
        case 'finish':
          choices[event.choice].finish = event.reason;
          if (stream) chunk(event.choice, {}, null, event.reason);
          break;
        case 'done':
          ended = true;
          if (stream) {
            if (includeUsage)
              write({
                id,
                object,
                created,
                model: internal.model.id,
                system_fingerprint: 'tracetune',
                choices: [],
                usage: event.usage,
              });
            response.end('data: [DONE]\n\n');
          } else {
            response.status(200).json({
              id,
              object,
              created,
              model: internal.model.id,
              system_fingerprint: 'tracetune',
              choices: choices.map((c, index) =>
                kind === 'chat'
                  ? {
                      index,
                      message: { role: 'assistant', content: c.text, refusal: null },
                      logprobs: generation.logprobs ? chatLogprobs(c.logprobs) : null,
                      finish_reason: c.finish ?? 'stop',
                    }
                  : {
                      index,
                      text: c.text,
                      logprobs: generation.logprobs ? completionLogprobs(c.logprobs, 0) : null,
                      finish_reason: c.finish ?? 'stop',
                    },
              ),
              usage: event.usage,
            });
          }
          break;
        case 'error':
          ended = true;
          if (started && stream) {
            // Mid-stream failures travel as a data object with an `error` key (OPENAI_COMPAT.md).
            write({
              error: { message: event.message, type: 'server_error', param: event.param, code: event.code },
            });
            response.end();
          } else {
            response.status(event.status).json({
              error: {
                message: event.message,
                type: event.status >= 500 ? 'server_error' : 'invalid_request_error',
                param: event.param,
                code: event.code,
              },
            });
          }
          break;
        default:
          break;
      }
    });
    void request;
  }
}
