import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Request, Response } from 'express';

import { toErrorResponse } from './error-response';

/** The one exception filter: every error leaves in the OpenAI envelope (docs/api-contract.md, "Errors"). */
@Catch()
export class OpenAIExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const { status, body, headers } = toErrorResponse(exception, request.method, request.path);
    if (status >= 500) {
      this.logger.error({ err: exception, requestId: request.id, path: request.path }, 'request failed');
    }
    if (response.headersSent) {
      // A streamed response already started: all we can do is end it.
      response.end();
      return;
    }
    response.status(status).set(headers).json(body);
  }
}
