import { createServer, type Server, type ServerResponse } from 'node:http';

import type { HealthReport } from '@tracetune/contracts';
import { METRICS_UNAUTHORIZED } from '@tracetune/metrics';

/** What GET /metrics serves (WorkerMetrics): the exposition text, behind the optional metrics token. */
export interface MetricsEndpoint {
  authorized(authorization: string | undefined): boolean;
  render(): Promise<{ contentType: string; body: string }>;
}

const json = (response: ServerResponse, status: number, body: unknown) =>
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/**
 * A minimal HTTP server for processes that have no HTTP API of their own (the worker): GET /health and, when given,
 * GET /metrics for Prometheus.
 */
export function startHealthServer(
  port: number,
  host: string,
  report: () => Promise<HealthReport>,
  metrics?: MetricsEndpoint,
): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'GET' && path === '/metrics' && metrics) {
      if (!metrics.authorized(request.headers.authorization)) {
        json(response, 401, METRICS_UNAUTHORIZED);
        return;
      }
      metrics.render().then(
        ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
      return;
    }
    if (request.method !== 'GET' || path !== '/health') {
      json(response, 404, {
        error: {
          message: `Invalid URL (${request.method} ${request.url})`,
          type: 'not_found_error',
          param: null,
          code: 'unknown_url',
        },
      });
      return;
    }
    report().then(
      (body) => json(response, body.status === 'ok' ? 200 : 503, body),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
