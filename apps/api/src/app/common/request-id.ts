import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Request id for logs and the `x-request-id` header of every response: the caller's own id when it sends a sane one
 * (so ids can be followed across proxies), else a new one. Used as pino-http's genReqId.
 */
export function assignRequestId(
  request: IncomingMessage & { id?: unknown },
  response: ServerResponse,
): string {
  if (typeof request.id === 'string') return request.id;
  const incoming = request.headers['x-request-id'];
  const id =
    typeof incoming === 'string' && SAFE_ID.test(incoming)
      ? incoming
      : `req_${randomUUID().replace(/-/g, '')}`;
  response.setHeader('x-request-id', id);
  request.id = id;
  return id;
}

/** First middleware of the app, so even errors raised before Nest's pipeline (body parsing) carry the id. */
export function requestIdMiddleware(
  request: IncomingMessage,
  response: ServerResponse,
  next: () => void,
): void {
  assignRequestId(request, response);
  next();
}
