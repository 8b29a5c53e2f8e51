/**
 * The inference engine thread: loads models and runs the continuous-batching scheduler, so no model compute ever runs
 * on the HTTP thread's event loop. Talks to the HTTP thread only through the protocol in app/engine/protocol.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { describeBackend, setupBackend, type BackendChoice } from '@tracetune/model';
import { ModelCache, Scheduler } from '@tracetune/serving';

import type { EngineStats, FromEngine, ToEngine } from './app/engine/protocol';

interface EngineOptions {
  dataDir: string;
  backend: BackendChoice;
  memoryBudgetBytes: number;
  prefixCacheBytes: number;
  kvBudgetBytes: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('engine-thread must run as a worker thread');
  const options = workerData as EngineOptions;
  // Events are sent in batches, one message per scheduler iteration (a microtask after it). Each postMessage wakes the
  // HTTP thread; on a busy 2-core machine a wake-up often hands it the engine's core at once, and with a message per
  // token per row the engine lost ≈ 5–8 % of its time inside postMessage.
  const outbox: FromEngine[] = [];
  const flush = (): void => {
    port.postMessage(outbox.splice(0, outbox.length));
  };
  const post = (message: FromEngine): void => {
    if (outbox.push(message) === 1) queueMicrotask(flush);
  };
  const report = await setupBackend(options.backend);
  // Metrics: decode steps by batch size since the last report (a bounded map: batch sizes are small integers).
  let generatedTokens = 0;
  const batchSizes = new Map<number, number>();
  const cache = new ModelCache(options.dataDir, options.memoryBudgetBytes, options.prefixCacheBytes);
  const scheduler = new Scheduler(cache, post, {
    kvBudgetBytes: options.kvBudgetBytes,
    observer: {
      onStep: (rows) => {
        generatedTokens += rows;
        batchSizes.set(rows, (batchSizes.get(rows) ?? 0) + 1);
      },
    },
  });
  const stats = (): EngineStats => {
    const sizes = [...batchSizes.entries()];
    batchSizes.clear();
    return {
      running: scheduler.runningSequences,
      waiting: scheduler.waitingSequences,
      kvReservedBytes: scheduler.kvReservedBytes,
      kvBudgetBytes: options.kvBudgetBytes,
      modelCacheBytes: cache.residentBytes,
      generatedTokens,
      modelLoads: cache.loads,
      modelEvictions: cache.evictions,
      batchSizes: sizes,
    };
  };
  port.on('message', (message: ToEngine) => {
    if (message.type === 'submit') void scheduler.submit(message.request);
    else if (message.type === 'cancel') scheduler.cancel(message.id);
    else post({ type: 'stats', stats: stats() });
  });
  post({ type: 'ready', backend: report.backend, reason: describeBackend(report) });
}

void main();
