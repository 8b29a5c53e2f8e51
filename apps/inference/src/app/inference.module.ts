import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';

import { artifactStoreSettings, Config, ConfigModule } from '@tracetune/config';
import { createArtifactStore } from '@tracetune/storage';

import { EngineClient } from './engine/engine.client';
import { GenerationController } from './generation/generation.controller';
import { GenerationService } from './generation/generation.service';
import { InferenceHealthController } from './inference-health.controller';
import { InferenceMetrics } from './metrics/inference-metrics';
import { MetricsController } from './metrics/metrics.controller';
import { ARTIFACT_STORE, ModelFiles } from './storage/model-files';

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
      controllers: [InferenceHealthController, GenerationController, MetricsController],
      providers: [
        EngineClient,
        GenerationService,
        InferenceMetrics,
        ModelFiles,
        { provide: ARTIFACT_STORE, useValue: createArtifactStore(artifactStoreSettings(config)) },
      ],
    };
  }
}
