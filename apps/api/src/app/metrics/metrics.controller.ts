import { Controller, Get, Header, Headers } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';

import { METRICS_UNAUTHORIZED } from '@tracetune/metrics';

import { Public } from '../auth/auth.decorators';
import { ApiError } from '../common/api-error';
import { MetricsService } from './metrics.service';

/** Prometheus scrape endpoint: open, or guarded by its own bearer token (TRACETUNE_METRICS_TOKEN), not an API key. */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  render(@Headers('authorization') authorization: string | undefined): Promise<string> {
    if (!this.metrics.authorized(authorization))
      throw new ApiError(401, METRICS_UNAUTHORIZED.error.message, { code: METRICS_UNAUTHORIZED.error.code });
    return this.metrics.render();
  }
}
