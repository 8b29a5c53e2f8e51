import { Injectable } from '@nestjs/common';

import { Config } from '@tracetune/config';
import { counter, createRegistry, gauge, histogram, METRICS, metricsAuthorized } from '@tracetune/metrics';
import type { GenerationRequest } from '@tracetune/serving';

import { EngineClient, type EngineObserver } from '../engine/engine.client';
import type { EngineStats, FromEngine } from '../engine/protocol';

interface Timing {
  submittedAt: number;
  firstToken: boolean;
  /** Arrival of each choice's latest token. */
  lastToken: Map<number, number>;
}

const seconds = (ms: number) => ms / 1000;

/**
 * The inference server's Prometheus metrics. Latencies are measured where clients feel them, on the HTTP thread as
 * engine events arrive: time to first token from submission (queueing and prefill included), inter-token latency
 * between consecutive tokens of one sequence. Engine-side figures (running and waiting sequences, KV reservation,
 * batch sizes, tokens, model cache) are asked of each engine thread when /metrics is scraped.
 */
@Injectable()
export class InferenceMetrics implements EngineObserver {
  readonly registry = createRegistry('inference');
  private readonly requests = counter(this.registry, METRICS.inferenceRequests);
  private readonly ttft = histogram(this.registry, METRICS.inferenceTimeToFirstToken);
  private readonly interToken = histogram(this.registry, METRICS.inferenceInterTokenLatency);
  private readonly promptTokens = counter(this.registry, METRICS.inferencePromptTokens);
  private readonly running = gauge(this.registry, METRICS.inferenceRunningSequences);
  private readonly waiting = gauge(this.registry, METRICS.inferenceWaitingSequences);
  private readonly kvReserved = gauge(this.registry, METRICS.inferenceKvReserved);
  private readonly kvBudget = gauge(this.registry, METRICS.inferenceKvBudget);
  private readonly cacheBytes = gauge(this.registry, METRICS.inferenceModelCacheBytes);
  private readonly batchSize = histogram(this.registry, METRICS.inferenceBatchSize);
  private readonly generated = counter(this.registry, METRICS.inferenceGeneratedTokens);
  private readonly loads = counter(this.registry, METRICS.inferenceModelLoads);
  private readonly evictions = counter(this.registry, METRICS.inferenceModelEvictions);
  private readonly timings = new Map<string, Timing>();
  /** Each engine's counters at the previous scrape (engines report totals; Prometheus counters take increments). */
  private readonly seen = new Map<
    number,
    Pick<EngineStats, 'generatedTokens' | 'modelLoads' | 'modelEvictions'>
  >();

  constructor(
    private readonly config: Config,
    private readonly engine: EngineClient,
  ) {
    engine.observe(this);
  }

  submitted(request: GenerationRequest): void {
    this.timings.set(request.id, { submittedAt: performance.now(), firstToken: false, lastToken: new Map() });
  }

  event(message: FromEngine): void {
    if (message.type === 'stats' || message.type === 'ready') return;
    const timing = this.timings.get(message.id);
    const now = performance.now();
    switch (message.type) {
      case 'accepted':
        this.promptTokens.inc(message.promptTokens);
        break;
      case 'delta': {
        if (!timing) break;
        if (!timing.firstToken) {
          timing.firstToken = true;
          this.ttft.observe(seconds(now - timing.submittedAt));
        }
        const last = timing.lastToken.get(message.choice);
        if (last !== undefined) this.interToken.observe(seconds(now - last));
        timing.lastToken.set(message.choice, now);
        break;
      }
      case 'done':
      case 'error':
      case 'cancelled':
        this.requests.inc({ outcome: message.type });
        this.timings.delete(message.id);
        break;
      default:
        break;
    }
  }

  authorized(authorization: string | undefined): boolean {
    return metricsAuthorized(authorization, this.config.get('TRACETUNE_METRICS_TOKEN'));
  }

  async render(): Promise<string> {
    const stats = await this.engine.stats();
    stats.forEach((s, index) => {
      if (!s) return;
      const engine = String(index);
      this.running.set({ engine }, s.running);
      this.waiting.set({ engine }, s.waiting);
      this.kvReserved.set({ engine }, s.kvReservedBytes);
      this.kvBudget.set({ engine }, s.kvBudgetBytes);
      this.cacheBytes.set({ engine }, s.modelCacheBytes);
      const before = this.seen.get(index) ?? { generatedTokens: 0, modelLoads: 0, modelEvictions: 0 };
      this.generated.inc(Math.max(0, s.generatedTokens - before.generatedTokens));
      this.loads.inc(Math.max(0, s.modelLoads - before.modelLoads));
      this.evictions.inc(Math.max(0, s.modelEvictions - before.modelEvictions));
      this.seen.set(index, s);
      for (const [rows, steps] of s.batchSizes) for (let i = 0; i < steps; i++) this.batchSize.observe(rows);
    });
    return this.registry.metrics();
  }
}
