import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { ZodValidationPipe } from 'nestjs-zod';

import { Config, ConfigModule } from '@tracetune/config';
import { DbModule } from '@tracetune/db';

import { ApiKeysModule } from './api-keys/api-keys.module';
import { AuthModule } from './auth/auth.module';
import { OpenAIExceptionFilter } from './common/openai-exception.filter';
import { PathParamPipe } from './common/path-param.pipe';
import { assignRequestId } from './common/request-id';
import { CompletionsModule } from './completions/completions.module';
import { DashboardApiModule } from './dashboard-api/dashboard-api.module';
import { FilesModule } from './files/files.module';
import { FineTuningJobsModule } from './fine-tuning-jobs/fine-tuning-jobs.module';
import { GradersModule } from './graders/graders.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ModelsModule } from './models/models.module';
import { QueueModule } from './queue/queue.module';
import { RateLimitsModule } from './rate-limits/rate-limits.module';
import { StorageModule } from './storage/storage.module';

/** The api process: wiring only. Feature modules are one per domain noun. */
@Module({})
export class AppModule {
  static forRoot(config: Config): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.get('LOG_LEVEL'),
            genReqId: assignRequestId,
            customProps: (request) => ({
              organization: (request as { principal?: { organizationId: string } }).principal?.organizationId,
            }),
            autoLogging: { ignore: (request) => request.url === '/health' || request.url === '/metrics' },
            redact: ['req.headers.authorization'],
          },
        }),
        DbModule,
        QueueModule,
        StorageModule,
        AuthModule,
        RateLimitsModule,
        HealthModule,
        MetricsModule,
        ApiKeysModule,
        FilesModule,
        GradersModule,
        ModelsModule,
        FineTuningJobsModule,
        CompletionsModule,
        DashboardApiModule,
      ],
      providers: [
        { provide: APP_PIPE, useClass: ZodValidationPipe },
        { provide: APP_PIPE, useClass: PathParamPipe },
        { provide: APP_FILTER, useClass: OpenAIExceptionFilter },
      ],
    };
  }
}
