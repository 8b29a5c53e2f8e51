import { createServer, type Server } from 'node:http';

import type { HealthReport } from '@tracetune/contracts';

/** A minimal HTTP server with GET /health for processes that have no HTTP API of their own (the worker). */
export function startHealthServer(
  port: number,
  host: string,
  report: () => Promise<HealthReport>,
): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url !== '/health') {
      response.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: {
            message: `Invalid URL (${request.method} ${request.url})`,
            type: 'not_found_error',
            param: null,
            code: 'unknown_url',
          },
        }),
      );
      return;
    }
    report().then(
      (body) =>
        response
          .writeHead(body.status === 'ok' ? 200 : 503, { 'content-type': 'application/json' })
          .end(JSON.stringify(body)),
      (error: unknown) => response.writeHead(500).end(String(error)),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
