import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { createZodDto } from 'nestjs-zod';
import { z } from 'zod';

import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { DashboardApiService } from './dashboard-api.service';
import { SseWriter } from './sse-writer';

const metricsQuerySchema = z
  .object({
    after_step: z.coerce
      .number()
      .int()
      .min(-1)
      .default(-1)
      .describe('Only steps after this one (-1: every step).'),
  })
  .strict();
class MetricsQueryDto extends createZodDto(metricsQuerySchema) {}

/** Reads for the admin dashboard that the OpenAI surface lacks; same Bearer keys, same organization scoping. */
@ApiTags('dashboard')
@ApiBearerAuth()
@Controller('v1/fine_tuning/jobs')
export class DashboardApiController {
  constructor(private readonly dashboard: DashboardApiService) {}

  @Get(':fine_tuning_job_id/metrics')
  @ApiOperation({
    summary: 'Training metrics of a job, one row per step, oldest first (Tracetune extension)',
  })
  metrics(
    @CurrentPrincipal() caller: Principal,
    @Param('fine_tuning_job_id') id: string,
    @Query() query: MetricsQueryDto,
  ) {
    return this.dashboard.listMetrics(caller, id, query.after_step);
  }

  @Get(':fine_tuning_job_id/stream')
  @ApiProduces('text/event-stream')
  @ApiOperation({
    summary:
      'Live job updates as server-sent events: `metrics`, `status`, `event`, then `end` when the job finishes (Tracetune extension)',
    description:
      'Read it with fetch and a stream parser so the key stays in the Authorization header; never put a key in a URL.',
  })
  async stream(
    @CurrentPrincipal() caller: Principal,
    @Param('fine_tuning_job_id') id: string,
    @Query() query: MetricsQueryDto,
    @Res() response: Response,
  ) {
    await this.dashboard.job(caller, id);
    await this.dashboard.stream(caller, id, new SseWriter(response), { afterStep: query.after_step });
  }
}
