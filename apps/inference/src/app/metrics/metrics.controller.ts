import { Controller, Get, Headers, Res } from '@nestjs/common';
import type { Response } from 'express';

import { METRICS_UNAUTHORIZED } from '@tracetune/metrics';

import { InferenceMetrics } from './inference-metrics';

/** Prometheus scrape endpoint, behind TRACETUNE_METRICS_TOKEN when set. */
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: InferenceMetrics) {}

  @Get()
  async render(
    @Headers('authorization') authorization: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    if (!this.metrics.authorized(authorization)) {
      response.status(401).json(METRICS_UNAUTHORIZED);
      return;
    }
    const body = await this.metrics.render();
    response.status(200).type(this.metrics.registry.contentType).send(body);
  }
}
