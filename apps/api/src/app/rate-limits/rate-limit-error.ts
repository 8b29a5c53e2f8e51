import { ApiError } from '../common/api-error';

/** What a 429 ran out of; OpenAI's own 429s say `requests` or `tokens` here. */
export type LimitedResource = 'requests' | 'streams' | 'jobs' | 'upload_bytes';

/** `1s`, `6m0s`, `20ms`: how OpenAI writes the x-ratelimit-reset-* headers. */
export function formatReset(ms: number): string {
  if (ms < 1_000) return `${Math.max(0, Math.round(ms))}ms`;
  const seconds = Math.ceil(ms / 1_000);
  return seconds < 60 ? `${seconds}s` : `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}

/**
 * OpenAI's 429: `{error: {type: <what ran out>, code: 'rate_limit_exceeded'}}` with `retry-after` (seconds) and
 * `retry-after-ms`, which the SDK's automatic retries honour.
 */
export function rateLimitError(type: LimitedResource, message: string, resetMs: number): ApiError {
  const ms = Math.max(1, Math.round(resetMs));
  const seconds = Math.ceil(ms / 1_000);
  return new ApiError(429, `${message} Please try again in ${formatReset(ms)}.`, {
    type,
    code: 'rate_limit_exceeded',
    headers: { 'retry-after': String(seconds), 'retry-after-ms': String(ms) },
  });
}
