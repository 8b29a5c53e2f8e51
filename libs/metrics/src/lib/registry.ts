import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import {
  DEFAULT_METRICS_PREFIX,
  METRICS,
  type App,
  type CounterDefinition,
  type GaugeDefinition,
  type HistogramDefinition,
} from './catalog';

/** A registry for one app: Node.js process metrics (prefixed) and an `app` label on every series. */
export function createRegistry(app: App): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app: `tracetune-${app}` });
  collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });
  return registry;
}

export function counter(registry: Registry, def: CounterDefinition): Counter {
  return new Counter({ name: def.name, help: def.help, labelNames: def.labelNames, registers: [registry] });
}

/** A gauge; `collect` (optional) refreshes it at scrape time. */
export function gauge(
  registry: Registry,
  def: GaugeDefinition,
  collect?: (gauge: Gauge) => Promise<void> | void,
): Gauge {
  return new Gauge({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    registers: [registry],
    ...(collect
      ? {
          async collect(this: Gauge) {
            await collect(this);
          },
        }
      : {}),
  });
}

export function histogram(registry: Registry, def: HistogramDefinition): Histogram {
  return new Histogram({
    name: def.name,
    help: def.help,
    labelNames: def.labelNames,
    buckets: [...def.buckets],
    registers: [registry],
  });
}

/**
 * Whether a request may read /metrics: always when no token is configured (TRACETUNE_METRICS_TOKEN unset), else only
 * with `Authorization: Bearer <token>` (compared in constant time).
 */
export function metricsAuthorized(authorization: string | undefined, token: string | undefined): boolean {
  if (!token) return true;
  const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1] ?? '';
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(presented), digest(token));
}

/** The 401 body for a scrape without the right token (OpenAI's error envelope, like every Tracetune error). */
export const METRICS_UNAUTHORIZED = {
  error: {
    message:
      'The /metrics endpoint needs the bearer token set in TRACETUNE_METRICS_TOKEN (Authorization: Bearer <token>).',
    type: 'authentication_error',
    param: null,
    code: 'invalid_metrics_token',
  },
} as const;

/** Where the cluster-wide gauges come from: Bull's counts per queue and PostgreSQL's jobs per status. */
export interface ClusterSources {
  queues: { name: string; counts(): Promise<Record<string, number>> }[];
  jobStatuses(): Promise<Record<string, number>>;
}

/** A scrape never waits long on Redis or PostgreSQL: a source that does not answer in time is left out this once. */
const SOURCE_TIMEOUT_MS = 2_000;

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), SOURCE_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Queue depth per queue and state, and jobs per status, collected when scraped. Every api and worker exports them
 * (each sees the same Redis and PostgreSQL), so any one instance answers; dashboards take `max` over instances. A
 * source that fails leaves its series out of that scrape (absent() alerts catch it) instead of failing /metrics.
 */
export function registerClusterMetrics(registry: Registry, sources: ClusterSources): void {
  gauge(registry, METRICS.queueJobs, async (g) => {
    g.reset();
    await Promise.all(
      sources.queues.map(async (queue) => {
        const counts = await withTimeout(queue.counts()).catch(() => null);
        for (const [state, value] of Object.entries(counts ?? {})) g.set({ queue: queue.name, state }, value);
      }),
    );
  });
  gauge(registry, METRICS.fineTuningJobs, async (g) => {
    g.reset();
    const counts = await withTimeout(sources.jobStatuses()).catch(() => null);
    for (const [status, value] of Object.entries(counts ?? {})) g.set({ status }, value);
  });
}
