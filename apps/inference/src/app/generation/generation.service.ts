import { Injectable } from '@nestjs/common';
import type { Request, Response } from 'express';

import { randomToken } from '@tracetune/contracts';
import { parseToolCalls, type ParsedToolCall, type TokenLogprobInfo } from '@tracetune/serving';

import { EngineClient } from '../engine/engine.client';
import type { FromEngine } from '../engine/protocol';
import {
  callableTools,
  InvalidGenerationRequest,
  toGeneration,
  type InternalRequest,
  type Kind,
} from './generation-request';

interface Choice {
  text: string;
  logprobs: TokenLogprobInfo[];
  finish: 'stop' | 'length' | null;
}

function chatLogprobs(infos: TokenLogprobInfo[]) {
  return {
    content: infos.map((i) => ({ token: i.token, logprob: i.logprob, bytes: i.bytes, top_logprobs: i.top })),
    refusal: null,
  };
}

function toOpenAICall(call: ParsedToolCall) {
  return {
    id: `call_${randomToken(24)}`,
    type: 'function' as const,
    function: { name: call.name, arguments: call.arguments },
  };
}

/** A whole chat choice: its tool calls parsed out when the request has callable tools. */
function chatChoice(c: Choice, index: number, tools: Set<string> | null, logprobs: boolean) {
  const parsed = tools ? parseToolCalls(c.text, tools) : null;
  return {
    index,
    message: parsed
      ? {
          role: 'assistant',
          content: parsed.content,
          refusal: null,
          annotations: [],
          tool_calls: parsed.calls.map(toOpenAICall),
        }
      : { role: 'assistant', content: c.text, refusal: null, annotations: [] },
    logprobs: logprobs ? chatLogprobs(c.logprobs) : null,
    finish_reason: parsed ? 'tool_calls' : (c.finish ?? 'stop'),
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
    let generation;
    try {
      generation = toGeneration(kind, id, internal);
    } catch (error) {
      if (!(error instanceof InvalidGenerationRequest)) throw error;
      response.status(400).json({
        error: {
          message: error.message,
          type: 'invalid_request_error',
          param: error.param,
          code: error.code,
        },
      });
      return;
    }
    const created = Math.floor(Date.now() / 1000);
    const stream = internal.body['stream'] === true;
    // With callable tools a streamed reply is held until its choice ends, then sent as tool-call deltas or as text.
    const tools = kind === 'chat' ? callableTools(internal.body) : null;
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
      delta: { text?: string; role?: string; tool_calls?: unknown[] },
      logprobs: TokenLogprobInfo[] | null,
      finish: string | null,
    ) => {
      const choice =
        kind === 'chat'
          ? {
              index,
              delta: delta.tool_calls
                ? { tool_calls: delta.tool_calls }
                : delta.role
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
          if (stream && !tools)
            chunk(event.choice, { text: event.text }, generation.logprobs ? event.logprobs : null, null);
          break;
        }
        case 'finish': {
          const choice = choices[event.choice];
          choice.finish = event.reason;
          if (!stream) break;
          const parsed = tools ? parseToolCalls(choice.text, tools) : null;
          if (parsed) {
            const calls = parsed.calls.map(toOpenAICall);
            calls.forEach((call, i) =>
              chunk(
                event.choice,
                {
                  tool_calls: [{ index: i, ...call, function: { name: call.function.name, arguments: '' } }],
                },
                null,
                null,
              ),
            );
            calls.forEach((call, i) =>
              chunk(
                event.choice,
                { tool_calls: [{ index: i, function: { arguments: call.function.arguments } }] },
                null,
                null,
              ),
            );
          } else if (tools && choice.text !== '') {
            chunk(event.choice, { text: choice.text }, generation.logprobs ? choice.logprobs : null, null);
          }
          chunk(event.choice, {}, null, parsed ? 'tool_calls' : event.reason);
          break;
        }
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
                  ? chatChoice(c, index, tools, generation.logprobs)
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
            // Mid-stream failures travel as a data object with an `error` key (docs/api-contract.md).
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
