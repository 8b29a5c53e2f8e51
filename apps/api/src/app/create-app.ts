import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';
import { Logger } from 'nestjs-pino';

import type { Config } from '@tracetune/config';

import { AppModule } from './app.module';
import { jsonBody } from './common/json-body';
import { paceRequests } from './common/paced-requests';
import { requestIdMiddleware } from './common/request-id';
import { serveDashboard } from './dashboard/dashboard';
import { httpMetrics } from './metrics/http-metrics.middleware';
import { MetricsService } from './metrics/metrics.service';
import { buildOpenApiDocument, serveOpenApi } from './openapi/openapi';

/** Builds the api application (used by main.ts, the OpenAPI writer and the tests); the caller listens. */
export async function createApp(config: Config): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bodyParser: false,
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  app.disable('x-powered-by');
  // Security headers (nosniff, frame and referrer policies, HSTS, cross-origin isolation of resources). No
  // Content-Security-Policy: the dashboard and the OpenAPI viewer are served from this origin and were not audited
  // against one yet (docs/operations.md); CORP stays `same-origin` and the API is called by SDKs, not browsers.
  app.use(helmet({ contentSecurityPolicy: false }));
  app.use(requestIdMiddleware);
  app.use(httpMetrics(app.get(MetricsService)));
  app.use(...jsonBody(config.get('TRACETUNE_MAX_JSON_BYTES')));
  serveDashboard(app.getHttpAdapter().getInstance(), config.get('TRACETUNE_DASHBOARD_DIR'));
  serveOpenApi(app, buildOpenApiDocument(app));
  // A burst of requests enters a few per event-loop turn; GET /health skips the queue (docs/operations.md).
  paceRequests(app.getHttpServer(), (r) => r.method === 'GET' && /^\/health(\?|$)/.test(r.url ?? ''));
  return app;
}
