import express, { type ErrorRequestHandler, type RequestHandler } from 'express';

import { toErrorResponse } from './error-response';

/**
 * JSON body parsing owned by us rather than Nest's default, so parse errors and oversize bodies leave in the OpenAI
 * envelope like every other error (they happen before Nest's filters can see them).
 */
export function jsonBody(limitBytes: number): [RequestHandler, ErrorRequestHandler] {
  const parse = express.json({ limit: limitBytes });
  const onError: ErrorRequestHandler = (error, request, response, next) => {
    if (response.headersSent) return next(error);
    const { status, body, headers } = toErrorResponse(error, request.method, request.path);
    response.status(status).set(headers).json(body);
  };
  return [parse, onError];
}
