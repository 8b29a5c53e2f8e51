import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Prometheus registry of this process: Node defaults plus HTTP request durations. */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: 'tracetune_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    this.registry.setDefaultLabels({ app: 'tracetune-api' });
    collectDefaultMetrics({ register: this.registry, prefix: 'tracetune_' });
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
