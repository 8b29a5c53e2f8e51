import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';

import { Config } from '@tracetune/config';
import type { GenerationRequest } from '@tracetune/serving';

import type { EngineStats, FromEngine, ToEngine } from './protocol';

type Listener = (message: FromEngine) => void;

/** Sees every request submitted and every event an engine sends (InferenceMetrics: latencies, outcomes). */
export interface EngineObserver {
  submitted(request: GenerationRequest): void;
  event(message: FromEngine): void;
}

/** How long a /metrics scrape waits for an engine busy in a long step before using what it has. */
const STATS_TIMEOUT_MS = 1_000;

/** At most this many engine threads when their number is chosen automatically. */
const AUTO_MAX_ENGINES = 4;

/**
 * Running sequences an engine takes before requests spill to the next one. Every engine pays a fixed cost per step
 * (≈ 300 kernel dispatches for tt-micro on wasm, whatever the batch), so a few concurrent requests run faster batched
 * on one engine than spread over several; beyond this, the next core's capacity wins. On the 2-core machine with
 * tt-micro (bench/inference): 4 clients 1,230–1,280 tokens/s filling one engine first against 1,010–1,070 spread
 * evenly over two; 16 clients 2,110–2,270 over two (8 each) against 1,830–1,910 on one.
 */
const SPILL_AT = 8;

/**
 * Backends that use a whole device by themselves: native TensorFlow (every core, or the GPU) and webgpu (the GPU). One
 * engine per GPU: several engines would hold several copies of the weights on it and compete for it.
 */
const ONE_ENGINE_BACKENDS: readonly string[] = ['tensorflow', 'tensorflow-gpu', 'webgpu'];

/**
 * Whether 'auto' may resolve to native TensorFlow: tfjs-node-gpu or tfjs-node installed. Resolved, not loaded (the HTTP
 * thread never loads tfjs); a runtime `require` so that bundlers do not follow the optional packages. (Whether it
 * resolves to webgpu depends on the adapter: the first engine's report decides, see EngineClient.onModuleInit.)
 */
function nativeInstalled(): boolean {
  const req = eval('require') as NodeJS.Require;
  return ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((pkg) => {
    try {
      req.resolve(pkg);
      return true;
    } catch {
      return false;
    }
  });
}

interface Engine {
  index: number;
  worker: Worker;
  ready: boolean;
  /** Sequences (prompts × n) of the requests it is running. */
  load: number;
  /** Requests it has been given. */
  served: number;
  /** Scrapes waiting for this engine's next stats report. */
  statsWaiters: ((stats: EngineStats) => void)[];
}

/**
 * The HTTP thread's handle on the engine threads: submit a request, receive its events, cancel it.
 *
 * Each engine thread runs its own scheduler over its own copy of the models (data parallelism). The wasm and cpu
 * backends compute on one core per thread (tfjs-backend-wasm has no threads under Node), so on a machine with several
 * cores one engine would leave the others idle however many requests wait. With TRACETUNE_INFERENCE_THREADS=0 (the
 * default) the server starts one engine per core, up to four, unless the backend is native TensorFlow or webgpu (which
 * use every core, or the GPU, by themselves): then one (under auto the first engine's backend decides). Requests fill the first engine up to SPILL_AT running sequences
 * before the next one takes any, then go to the least loaded; a single stream runs on one engine, exactly as with one
 * thread. The memory budget is divided among the engines, since each holds its own copy of what it loads.
 */
@Injectable()
export class EngineClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EngineClient.name);
  /** Requests an engine is running; a cancelled one stays until the engine confirms its rows left the batch. */
  private readonly listeners = new Map<
    string,
    { listener: Listener; engine: Engine; load: number; cancelled: boolean }
  >();
  private readonly engines: Engine[] = [];
  private observer: EngineObserver | null = null;
  /** Under 'auto': engines to add once the first reports a CPU backend (0 when decided). */
  private pendingEngines = 0;
  backend = 'starting';

  constructor(private readonly config: Config) {}

  /** Engine threads started (some may still be loading their backend). */
  get engineCount(): number {
    return this.engines.length;
  }

  /** Requests given to each engine so far. */
  get requestsPerEngine(): number[] {
    return this.engines.map((e) => e.served);
  }

  /** Sequences each engine is running (a cancelled request counts until the engine has dropped it). */
  get runningPerEngine(): number[] {
    return this.engines.map((e) => e.load);
  }

  observe(observer: EngineObserver): void {
    this.observer = observer;
  }

  /** Each engine's current figures (null for one not ready, or too busy to answer within STATS_TIMEOUT_MS). */
  stats(): Promise<(EngineStats | null)[]> {
    return Promise.all(
      this.engines.map(
        (engine) =>
          new Promise<EngineStats | null>((resolve) => {
            if (!engine.ready) return resolve(null);
            const timer = setTimeout(() => {
              engine.statsWaiters = engine.statsWaiters.filter((w) => w !== answer);
              resolve(null);
            }, STATS_TIMEOUT_MS);
            const answer = (stats: EngineStats) => {
              clearTimeout(timer);
              resolve(stats);
            };
            engine.statsWaiters.push(answer);
            if (engine.statsWaiters.length === 1) this.send(engine, { type: 'stats' });
          }),
      ),
    );
  }

  onModuleInit(): void {
    const configured = this.config.get('TRACETUNE_INFERENCE_THREADS');
    const choice = this.config.get('TRACETUNE_BACKEND');
    const cores = Math.min(availableParallelism(), AUTO_MAX_ENGINES);
    const count =
      configured > 0
        ? configured
        : ONE_ENGINE_BACKENDS.includes(choice) || (choice === 'auto' && nativeInstalled())
          ? 1
          : cores;
    // Under auto the first engine's backend decides: webgpu on a GPU keeps one engine, a CPU backend gets one per core.
    const first = configured === 0 && choice === 'auto' && count > 1 ? 1 : count;
    this.pendingEngines = count - first;
    for (let i = 0; i < first; i++) this.spawn(i, count);
    if (first > 1) this.logger.log(`${first} engine threads`);
  }

  /** Under auto, once engine 0 reports its backend: the other engines, unless it uses the whole device itself. */
  private growAfterFirst(backend: string): void {
    const more = this.pendingEngines;
    this.pendingEngines = 0;
    if (more === 0 || ONE_ENGINE_BACKENDS.includes(backend)) return;
    for (let i = 1; i <= more; i++) this.spawn(i, more + 1);
    this.logger.log(`${more + 1} engine threads`);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.engines.map((e) => e.worker.terminate()));
  }

  submit(request: GenerationRequest, listener: Listener): void {
    const ready = this.engines.filter((e) => e.ready);
    // The first engine with room below SPILL_AT, else the least loaded (among equals the first, so that requests one
    // at a time stay on one warm engine).
    const candidates = ready.length ? ready : this.engines.slice(0, 1);
    const engine =
      candidates.find((e) => e.load < SPILL_AT) ??
      candidates.reduce((best, e) => (e.load < best.load ? e : best));
    const load = request.prompts.length * request.n;
    engine.load += load;
    engine.served += 1;
    this.listeners.set(request.id, { listener, engine, load, cancelled: false });
    this.observer?.submitted(request);
    this.send(engine, { type: 'submit', request });
  }

  /** Stops a request: no more events reach its listener, and the engine drops its rows at its next step. */
  cancel(id: string): void {
    const entry = this.listeners.get(id);
    if (!entry || entry.cancelled) return;
    entry.cancelled = true;
    this.send(entry.engine, { type: 'cancel', id });
  }

  private spawn(index: number, count: number): Engine {
    const worker = new Worker(join(__dirname, 'engine-thread.js'), {
      name: `engine-${index}`,
      workerData: {
        dataDir: resolve(this.config.get('TRACETUNE_DATA_DIR')),
        backend: this.config.get('TRACETUNE_BACKEND'),
        memoryBudgetBytes: Math.floor(
          (this.config.get('TRACETUNE_INFERENCE_MEMORY_MB') * 1024 * 1024) / count,
        ),
        prefixCacheBytes: this.config.get('TRACETUNE_PREFIX_CACHE_MB') * 1024 * 1024,
        kvBudgetBytes: this.config.get('TRACETUNE_INFERENCE_KV_MB') * 1024 * 1024,
      },
    });
    const engine: Engine = { index, worker, ready: false, load: 0, served: 0, statsWaiters: [] };
    this.engines.push(engine);
    worker.on('message', (batch: FromEngine[]) => batch.forEach((message) => this.dispatch(engine, message)));
    worker.on('error', (error) => {
      this.logger.error(`engine thread ${index} failed: ${error.message}`);
      engine.ready = false;
      for (const [id, entry] of this.listeners) {
        if (entry.engine !== engine) continue;
        this.release(id);
        if (!entry.cancelled)
          entry.listener({
            type: 'error',
            id,
            status: 500,
            message: 'The inference engine failed.',
            param: null,
            code: 'engine_error',
          });
      }
    });
    return engine;
  }

  private dispatch(engine: Engine, message: FromEngine): void {
    if (message.type === 'ready') {
      engine.ready = true;
      if (engine.index === 0) {
        this.backend = message.backend;
        this.logger.log(`engine ready: ${message.reason}`); // names the backend, its adapter and fallbacks
        this.growAfterFirst(message.backend);
      }
      return;
    }
    if (message.type === 'stats') {
      engine.statsWaiters.splice(0).forEach((answer) => answer(message.stats));
      return;
    }
    this.observer?.event(message);
    const entry = this.listeners.get(message.id);
    if (message.type === 'done' || message.type === 'error' || message.type === 'cancelled')
      this.release(message.id);
    if (entry && !entry.cancelled) entry.listener(message);
  }

  private release(id: string): void {
    const entry = this.listeners.get(id);
    if (!entry) return;
    entry.engine.load -= entry.load;
    this.listeners.delete(id);
  }

  private send(engine: Engine, message: ToEngine): void {
    engine.worker.postMessage(message);
  }
}
