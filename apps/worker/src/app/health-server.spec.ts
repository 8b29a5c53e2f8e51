import type { HealthReport } from '@tracetune/contracts';
import { freePort } from '@tracetune/testing';

import { startHealthServer } from './health-server';

describe('worker health server', () => {
  const ok: HealthReport = {
    status: 'ok',
    app: 'worker',
    checks: { database: { status: 'ok', latency_ms: 1 } },
    details: { worker_id: 'w1' },
  };
  const degraded: HealthReport = {
    ...ok,
    status: 'degraded',
    checks: { database: { status: 'error', latency_ms: 2000, error: 'down' } },
  };

  it('should answer /health with the report, 200 when ok and 503 when degraded', async () => {
    let report = ok;
    const port = await freePort();
    const server = await startHealthServer(port, '127.0.0.1', async () => report);
    try {
      const healthy = await fetch(`http://127.0.0.1:${port}/health`);
      expect(healthy.status).toBe(200);
      expect(await healthy.json()).toEqual(ok);
      report = degraded;
      const sick = await fetch(`http://127.0.0.1:${port}/health`);
      expect(sick.status).toBe(503);
      expect(((await sick.json()) as HealthReport).checks['database'].error).toBe('down');
    } finally {
      server.close();
    }
  });

  it('should answer other paths with a 404 in the OpenAI envelope', async () => {
    const port = await freePort();
    const server = await startHealthServer(port, '127.0.0.1', async () => ok);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/jobs`);
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({
        error: {
          message: 'Invalid URL (GET /jobs)',
          type: 'not_found_error',
          param: null,
          code: 'unknown_url',
        },
      });
    } finally {
      server.close();
    }
  });

  it('should serve /metrics behind the metrics token when given an endpoint', async () => {
    const port = await freePort();
    const token = 'a-long-metrics-token';
    const server = await startHealthServer(port, '127.0.0.1', async () => ok, {
      authorized: (authorization) => authorization === `Bearer ${token}`,
      render: async () => ({
        contentType: 'text/plain; version=0.0.4; charset=utf-8',
        body: 'tracetune_x 1\n',
      }),
    });
    try {
      const open = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(open.status).toBe(200);
      expect(open.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await open.text()).toBe('tracetune_x 1\n');
      const refused = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(refused.status).toBe(401);
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe(
        'invalid_metrics_token',
      );
    } finally {
      server.close();
    }
  });
});
