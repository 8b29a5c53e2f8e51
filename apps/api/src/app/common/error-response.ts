import { HttpException } from '@nestjs/common';
import { ZodValidationException } from 'nestjs-zod';
import type { ZodError } from 'zod';

import { errorBody, type OpenAIErrorBody } from '@tracetune/contracts';

import { ApiError } from './api-error';

export interface ErrorResponse {
  status: number;
  body: OpenAIErrorBody;
  headers: Record<string, string>;
}

/** `messages[0].role` style path, as OpenAI names nested params. */
export function formatParam(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, '');
}

function fromZodError(error: ZodError): ErrorResponse {
  const issue = error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const param = formatParam([...issue.path, issue.keys[0]]);
    return {
      status: 400,
      body: errorBody(400, `Unrecognized request argument supplied: ${param}`, {
        param,
        code: 'unknown_parameter',
      }),
      headers: {},
    };
  }
  const param = formatParam(issue.path) || null;
  const message = param
    ? `Invalid value for '${param}': ${issue.message}`
    : `Invalid request: ${issue.message}`;
  return { status: 400, body: errorBody(400, message, { param, code: 'invalid_value' }), headers: {} };
}

interface BodyParserError {
  type?: string;
  status?: number;
  limit?: number;
}

/**
 * Maps anything thrown while serving a request to the OpenAI envelope. Unknown errors become a 500 whose message
 * reveals nothing internal (the log has the details, keyed by the request id).
 */
export function toErrorResponse(exception: unknown, method: string, path: string): ErrorResponse {
  if (exception instanceof ApiError) {
    return {
      status: exception.getStatus(),
      body: exception.getResponse() as OpenAIErrorBody,
      headers: exception.headers,
    };
  }
  if (exception instanceof ZodValidationException) {
    return fromZodError(exception.getZodError() as ZodError);
  }
  const parser = exception as BodyParserError;
  if (parser?.type === 'entity.parse.failed') {
    return {
      status: 400,
      body: errorBody(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The request body must be valid JSON.)",
        { code: 'invalid_json' },
      ),
      headers: {},
    };
  }
  if (parser?.type === 'entity.too.large') {
    return {
      status: 413,
      body: errorBody(413, `Request body too large: the limit is ${parser.limit} bytes.`, {
        code: 'request_too_large',
      }),
      headers: {},
    };
  }
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    if (status === 404) {
      return {
        status,
        body: errorBody(404, `Invalid URL (${method} ${path})`, { code: 'unknown_url' }),
        headers: {},
      };
    }
    const response = exception.getResponse();
    const message =
      typeof response === 'string'
        ? response
        : Array.isArray((response as { message?: unknown }).message)
          ? (response as { message: string[] }).message.join('; ')
          : String((response as { message?: unknown }).message ?? exception.message);
    return { status, body: errorBody(status, message), headers: {} };
  }
  return {
    status: 500,
    body: errorBody(500, 'The server had an error while processing your request. Sorry about that!'),
    headers: {},
  };
}
