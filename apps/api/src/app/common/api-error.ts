import { HttpException } from '@nestjs/common';

import { errorBody, type OpenAIErrorType } from '@tracetune/contracts';

export interface ApiErrorOptions {
  param?: string | null;
  code?: string | null;
  type?: OpenAIErrorType;
  /** Extra response headers, e.g. `x-should-retry: false` on conflicts the SDK must not retry. */
  headers?: Record<string, string>;
}

/** An error that leaves the API in the OpenAI envelope with the given status, param and code. */
export class ApiError extends HttpException {
  readonly headers: Record<string, string>;

  constructor(status: number, message: string, options: ApiErrorOptions = {}) {
    super(errorBody(status, message, options), status);
    this.headers = options.headers ?? {};
  }

  static badRequest(message: string, param: string | null = null, code: string | null = null): ApiError {
    return new ApiError(400, message, { param, code });
  }

  static notFound(message: string, param: string | null = null): ApiError {
    return new ApiError(404, message, { param, code: 'not_found' });
  }

  /** 409 that the SDK must not retry (it retries 409 by default). */
  static conflict(message: string, param: string | null = null, code: string | null = 'conflict'): ApiError {
    return new ApiError(409, message, { param, code, headers: { 'x-should-retry': 'false' } });
  }
}
