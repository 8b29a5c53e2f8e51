import { Injectable, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Observable } from 'rxjs';

import { formatReset } from './rate-limit-error';
import { RateLimitsService } from './rate-limits.service';

/**
 * Counts every authenticated request against its key's and organization's requests per minute (a 429 past either)
 * and reports the tighter allowance in OpenAI's x-ratelimit-*-requests headers. Public routes (/health, /metrics,
 * /docs) carry no principal and are not counted.
 */
@Injectable()
export class RateLimitInterceptor implements NestInterceptor {
  constructor(private readonly limits: RateLimitsService) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const principal = http.getRequest<Request>().principal;
    if (principal) {
      const allowance = await this.limits.countRequest(principal);
      if (allowance) {
        http.getResponse<Response>().set({
          'x-ratelimit-limit-requests': String(allowance.limit),
          'x-ratelimit-remaining-requests': String(Math.max(0, allowance.remaining)),
          'x-ratelimit-reset-requests': formatReset(allowance.resetMs),
        });
      }
    }
    return next.handle();
  }
}
