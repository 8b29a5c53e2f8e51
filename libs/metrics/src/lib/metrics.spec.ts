import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { metricNames, METRICS, type MetricDefinition } from './catalog';
import { parseExposition } from './exposition';
import { createRegistry, metricsAuthorized, registerClusterMetrics } from './registry';

const ROOT = join(__dirname, '..', '..', '..', '..');
const catalog = Object.values(METRICS as Record<string, MetricDefinition>);

describe('the metrics catalogue', () => {
  it('should follow Prometheus naming: prefix, units in names, _total counters, no duplicates', () => {
    const names = catalog.map((m) => m.name);
    expect(new Set(names).size).toBe(names.length);
    for (const metric of catalog) {
      expect(metric.name).toMatch(/^tracetune_[a-z0-9_]+$/);
      if (metric.type === 'counter') expect(metric.name).toMatch(/_total$/);
      else expect(metric.name).not.toMatch(/_total$/);
      if (/duration|latency|time_to/.test(metric.name)) expect(metric.name).toMatch(/_seconds$/);
      if (metric.type === 'histogram')
        expect([...metric.buckets]).toEqual([...metric.buckets].sort((a, b) => a - b));
      expect(metric.apps.length).toBeGreaterThan(0);
    }
  });

  it('should give each app its own families', () => {
    expect(metricNames('worker')).toEqual(
      expect.arrayContaining(['tracetune_queue_jobs', 'tracetune_training_step_duration_seconds']),
    );
    expect(metricNames('inference')).not.toContain('tracetune_queue_jobs');
  });
});

describe('the /metrics token', () => {
  it('should let every scrape through when no token is configured', () => {
    expect(metricsAuthorized(undefined, undefined)).toBe(true);
  });

  it('should require exactly the configured bearer token', () => {
    const token = 'a-long-metrics-token';
    expect(metricsAuthorized(`Bearer ${token}`, token)).toBe(true);
    expect(metricsAuthorized(`bearer ${token}`, token)).toBe(true);
    expect(metricsAuthorized(undefined, token)).toBe(false);
    expect(metricsAuthorized(token, token)).toBe(false);
    expect(metricsAuthorized(`Bearer ${token}x`, token)).toBe(false);
    expect(metricsAuthorized('Bearer ', token)).toBe(false);
  });
});

describe('cluster metrics', () => {
  it('should read sources at scrape time and leave out one that fails, without failing the scrape', async () => {
    const registry = createRegistry('api');
    let waiting = 3;
    registerClusterMetrics(registry, {
      queues: [
        { name: 'training', counts: async () => ({ waiting, active: 1 }) },
        {
          name: 'broken',
          counts: async () => {
            throw new Error('redis down');
          },
        },
      ],
      jobStatuses: async () => ({ running: 1, succeeded: 0 }),
    });
    const first = parseExposition(await registry.metrics()).samples;
    const get = (samples: typeof first, labels: Record<string, string>) =>
      samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    expect(get(first, { queue: 'training', state: 'waiting' })).toBe(3);
    expect(get(first, { status: 'succeeded' })).toBe(0);
    expect(first.some((s) => s.labels['queue'] === 'broken')).toBe(false);
    expect(first.every((s) => s.labels['app'] === 'tracetune-api')).toBe(true);
    waiting = 0;
    expect(
      get(parseExposition(await registry.metrics()).samples, { queue: 'training', state: 'waiting' }),
    ).toBe(0);
  });
});

describe('the Grafana dashboard (docker/grafana/tracetune.json)', () => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docker', 'grafana', 'tracetune.json'), 'utf8')) as {
    uid: string;
    panels: { id: number; type: string; title: string; targets?: { expr: string }[] }[];
  };
  const exprs = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })),
  );

  it('should query only metrics Tracetune exports', async () => {
    // Everything an app's registry declares: the catalogue plus Node.js process metrics (prefixed).
    const exported = new Set<string>(catalog.map((m) => m.name));
    for (const metric of await createRegistry('worker').getMetricsAsJSON()) exported.add(metric.name);
    const histograms = new Set(catalog.filter((m) => m.type === 'histogram').map((m) => m.name));
    const unknown: string[] = [];
    for (const { panel, expr } of exprs) {
      for (const name of expr.match(/\btracetune_[a-z0-9_]+/g) ?? []) {
        const base = name.replace(/_(bucket|sum|count)$/, '');
        const known = exported.has(name) || (histograms.has(base) && name !== base);
        if (!known || histograms.has(name)) unknown.push(`${panel}: ${name}`);
      }
    }
    expect(exprs.length).toBeGreaterThan(10);
    expect(unknown).toEqual([]);
  });

  it('should chart every metric of the catalogue', () => {
    const all = exprs.map((e) => e.expr).join('\n');
    expect(catalog.map((m) => m.name).filter((name) => !all.includes(name))).toEqual([]);
  });

  it('should be a well-formed dashboard: unique panel ids, a uid, a query per chart', () => {
    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(dashboard.uid).toBe('tracetune');
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row'))
      expect(panel.targets?.length ?? 0).toBeGreaterThan(0);
  });
});
