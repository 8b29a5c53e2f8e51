import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';

import type { RunGraderParams } from '@tracetune/graders';

import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { RunGraderDto, ValidateGraderDto } from './graders.dto';
import { GradersService } from './graders.service';

@ApiTags('graders')
@ApiBearerAuth()
@Controller('v1/fine_tuning/alpha/graders')
export class GradersController {
  constructor(private readonly graders: GradersService) {}

  @Post('run')
  @HttpCode(200)
  @ApiOperation({ summary: 'Grade one model sample against an item (OpenAI GraderRunResponse)' })
  run(@CurrentPrincipal() caller: Principal, @Body() body: RunGraderDto) {
    return this.graders.run(body as RunGraderParams, caller.organizationId);
  }

  @Post('validate')
  @HttpCode(200)
  @ApiOperation({ summary: 'Validate a grader (echoes it back when valid)' })
  validate(@CurrentPrincipal() caller: Principal, @Body() body: ValidateGraderDto) {
    return this.graders.validate(body.grader, caller.organizationId);
  }
}
