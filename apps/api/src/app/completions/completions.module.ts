import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';

import { ModelsModule } from '../models/models.module';
import { CompletionsController } from './completions.controller';
import { CompletionsService } from './completions.service';

@Module({ imports: [ModelsModule], controllers: [CompletionsController], providers: [CompletionsService] })
export class CompletionsModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // Runs before validation, so `tools` gets "unsupported", not "unrecognized".
    consumer
      .apply((request: Request, _response: Response, next: NextFunction) => {
        CompletionsService.refuseUnsupported(request.body);
        next();
      })
      .forRoutes('v1/chat/completions', 'v1/completions');
  }
}
