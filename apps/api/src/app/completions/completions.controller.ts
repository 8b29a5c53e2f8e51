import { Body, Controller, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { createZodDto } from 'nestjs-zod';

import { chatCompletionRequestSchema, completionRequestSchema } from '@tracetune/contracts';

import { CurrentPrincipal } from '../auth/auth.decorators';
import type { Principal } from '../auth/principal';
import { CompletionsService } from './completions.service';

class ChatCompletionDto extends createZodDto(chatCompletionRequestSchema) {}
class CompletionDto extends createZodDto(completionRequestSchema) {}

@ApiTags('inference')
@ApiBearerAuth()
@Controller('v1')
export class CompletionsController {
  constructor(private readonly completions: CompletionsService) {}

  @Post('chat/completions')
  @ApiOperation({ summary: 'Chat with a base, fine-tuned or checkpoint model (stream: server-sent events)' })
  chat(
    @CurrentPrincipal() caller: Principal,
    @Body() body: ChatCompletionDto,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    return this.completions.proxy('chat/completions', caller, { ...body }, request, response);
  }

  @Post('completions')
  @ApiOperation({ summary: 'Legacy text completions' })
  complete(
    @CurrentPrincipal() caller: Principal,
    @Body() body: CompletionDto,
    @Req() request: Request,
    @Res() response: Response,
  ) {
    return this.completions.proxy('completions', caller, { ...body }, request, response);
  }
}
