import { Body, Controller, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';

import type { InternalRequest } from './generation-request';
import { GenerationService } from './generation.service';

/** Internal endpoints the api proxies `/v1/chat/completions` and `/v1/completions` to. */
@Controller('internal')
export class GenerationController {
  constructor(private readonly generation: GenerationService) {}

  @Post('chat/completions')
  chat(@Body() body: InternalRequest, @Req() request: Request, @Res() response: Response): void {
    this.generation.serve('chat', body, request, response);
  }

  @Post('completions')
  complete(@Body() body: InternalRequest, @Req() request: Request, @Res() response: Response): void {
    this.generation.serve('completion', body, request, response);
  }
}
