import { Body, Controller, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';

import { ModelFiles } from '../storage/model-files';
import type { InternalRequest, Kind } from './generation-request';
import { GenerationService } from './generation.service';

/** Internal endpoints the api proxies `/v1/chat/completions` and `/v1/completions` to. */
@Controller('internal')
export class GenerationController {
  constructor(
    private readonly generation: GenerationService,
    private readonly files: ModelFiles,
  ) {}

  @Post('chat/completions')
  chat(@Body() body: InternalRequest, @Req() request: Request, @Res() response: Response): Promise<void> {
    return this.serve('chat', body, request, response);
  }

  @Post('completions')
  complete(@Body() body: InternalRequest, @Req() request: Request, @Res() response: Response): Promise<void> {
    return this.serve('completion', body, request, response);
  }

  private async serve(
    kind: Kind,
    body: InternalRequest,
    request: Request,
    response: Response,
  ): Promise<void> {
    let model;
    try {
      model = await this.files.resolve(body.model);
    } catch (error) {
      response.status(500).json({
        error: {
          message: `Could not load model ${body.model.id}: ${(error as Error).message}`,
          type: 'server_error',
          param: 'model',
          code: 'model_load_failed',
        },
      });
      return;
    }
    this.generation.serve(kind, { ...body, model }, request, response);
  }
}
