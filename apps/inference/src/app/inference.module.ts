import { Module, type DynamicModule } from '@nestjs/common';
import { Config, ConfigModule } from '@tracetune/config';
import { LoggerModule } from 'nestjs-pino';
import { InferenceHealthController } from './inference-health.controller';

/** The internal inference server: model cache and batching engine arrive with the inference feature. */
@Module({})
export class InferenceModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: InferenceModule,
      imports: [ConfigModule.forRoot(config), LoggerModule.forRoot({ pinoHttp: { level: config.get('LOG_LEVEL'), autoLogging: false } })],
      controllers: [InferenceHealthController],
    };
  }
}
