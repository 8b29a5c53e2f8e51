/** The OpenAI error envelope: every error Tracetune returns has this body. */
export interface OpenAIErrorBody {
  error: {
    message: string;
    type: OpenAIErrorType;
    param: string | null;
    code: string | null;
  };
}

export type OpenAIErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'conflict_error'
  | 'rate_limit_error'
  | 'server_error'
  /** 429s say what ran out, as OpenAI's `requests` and `tokens`. */
  | 'requests'
  | 'streams'
  | 'jobs'
  | 'upload_bytes';

/** The error type OpenAI's API uses for each status. */
export function errorTypeForStatus(status: number): OpenAIErrorType {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 409) return 'conflict_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

export function errorBody(
  status: number,
  message: string,
  options: { param?: string | null; code?: string | null; type?: OpenAIErrorType } = {},
): OpenAIErrorBody {
  return {
    error: {
      message,
      type: options.type ?? errorTypeForStatus(status),
      param: options.param ?? null,
      code: options.code ?? null,
    },
  };
}
