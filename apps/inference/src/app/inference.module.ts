import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

import { Config, ConfigModule } from '@tracetune/config';

import { EngineClient } from './engine/engine.client';
import { GenerationController } from './generation/generation.controller';
import { GenerationService } from './generation/generation.service';
import { InferenceHealthController } from './inference-health.controller';

/** The internal inference server: HTTP on this thread, the model engine on a worker thread. */
@Module({})
export class InferenceModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: InferenceModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({ pinoHttp: { level: config.get('LOG_LEVEL'), autoLogging: false } }),
      ],
      controllers: [InferenceHealthController, GenerationController],
      providers: [EngineClient, GenerationService],
    };
  }
}
