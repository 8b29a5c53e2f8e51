import { Body, Controller, Get, Headers, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';

import {
  createFineTuningJobSchema,
  cursorPageQuerySchema,
  listEventsQuerySchema,
  listJobsQuerySchema,
} from '@tracetune/contracts';

import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { FineTuningJobsService } from './fine-tuning-jobs.service';

class CreateFineTuningJobDto extends createZodDto(createFineTuningJobSchema) {}
class ListJobsQueryDto extends createZodDto(listJobsQuerySchema) {}
class ListEventsQueryDto extends createZodDto(listEventsQuerySchema) {}
class ListCheckpointsQueryDto extends createZodDto(cursorPageQuerySchema.strict()) {}

@ApiTags('fine-tuning')
@ApiBearerAuth()
@Controller('v1/fine_tuning/jobs')
export class FineTuningJobsController {
  constructor(private readonly jobs: FineTuningJobsService) {}

  @Post()
  @HttpCode(200)
  @ApiOperation({ summary: 'Create a fine-tuning job (reinforcement with GRPO-λ by default, or supervised)' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'Retries with the same key return the same job.',
  })
  create(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CreateFineTuningJobDto,
    @Headers('idempotency-key') idempotencyKey?: string,
    @Headers('x-stainless-retry-count') retryCount?: string,
  ) {
    return this.jobs.create(caller, body, {
      idempotencyKey: idempotencyKey?.slice(0, 200),
      retryCount: Number(retryCount ?? 0),
    });
  }

  @Get()
  @ApiOperation({ summary: 'List fine-tuning jobs (cursor `after`, `limit`, `metadata[k]=v` filters)' })
  list(@CurrentPrincipal() caller: Principal, @Query() query: ListJobsQueryDto) {
    return this.jobs.list(caller, query);
  }

  @Get(':fine_tuning_job_id')
  @ApiOperation({ summary: 'Retrieve a fine-tuning job' })
  retrieve(@CurrentPrincipal() caller: Principal, @Param('fine_tuning_job_id') id: string) {
    return this.jobs.retrieve(caller, id);
  }

  @Post(':fine_tuning_job_id/cancel')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a job (409, not retryable, when it already finished)' })
  cancel(@CurrentPrincipal() caller: Principal, @Param('fine_tuning_job_id') id: string) {
    return this.jobs.cancel(caller, id);
  }

  @Post(':fine_tuning_job_id/pause')
  @HttpCode(200)
  @ApiOperation({ summary: 'Pause a job: it checkpoints, then becomes paused' })
  pause(@CurrentPrincipal() caller: Principal, @Param('fine_tuning_job_id') id: string) {
    return this.jobs.pause(caller, id);
  }

  @Post(':fine_tuning_job_id/resume')
  @HttpCode(200)
  @ApiOperation({ summary: 'Resume a paused job from its pause checkpoint' })
  resume(@CurrentPrincipal() caller: Principal, @Param('fine_tuning_job_id') id: string) {
    return this.jobs.resume(caller, id);
  }

  @Get(':fine_tuning_job_id/events')
  @ApiOperation({ summary: 'List job events, newest first (message and metrics events)' })
  events(
    @CurrentPrincipal() caller: Principal,
    @Param('fine_tuning_job_id') id: string,
    @Query() query: ListEventsQueryDto,
  ) {
    return this.jobs.listEvents(caller, id, query);
  }

  @Get(':fine_tuning_job_id/checkpoints')
  @ApiOperation({ summary: 'List job checkpoints, newest first' })
  checkpoints(
    @CurrentPrincipal() caller: Principal,
    @Param('fine_tuning_job_id') id: string,
    @Query() query: ListCheckpointsQueryDto,
  ) {
    return this.jobs.listCheckpoints(caller, id, query);
  }
}
