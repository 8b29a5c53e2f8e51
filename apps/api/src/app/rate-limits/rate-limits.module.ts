import { Global, Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';

import { RateLimitInterceptor } from './rate-limit.interceptor';
import { RateLimitsService } from './rate-limits.service';

/** Rate limits and quotas (Redis-backed, shared by every api instance); see docs/operations.md. */
@Global()
@Module({
  providers: [RateLimitsService, { provide: APP_INTERCEPTOR, useClass: RateLimitInterceptor }],
  exports: [RateLimitsService],
})
export class RateLimitsModule {}
