import { publicHealth } from './health.service';

describe('publicHealth', () => {
  it('should keep ok/error per dependency and drop the error text that names hosts and ports', () => {
    const report = {
      status: 'degraded' as const,
      app: 'api',
      checks: {
        database: { status: 'error' as const, latency_ms: 3, error: 'connect ECONNREFUSED 10.0.0.5:5432' },
        redis: { status: 'ok' as const, latency_ms: 1 },
      },
      details: { secret: 'x' },
    };
    expect(publicHealth(report)).toEqual({
      status: 'degraded',
      app: 'api',
      checks: { database: { status: 'error', latency_ms: 3 }, redis: { status: 'ok', latency_ms: 1 } },
    });
    expect(JSON.stringify(publicHealth(report))).not.toMatch(/5432|10\.0\.0\.5/);
  });
});
