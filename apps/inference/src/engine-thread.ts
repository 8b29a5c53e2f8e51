/**
 * The inference engine thread: loads models and runs the continuous-batching scheduler, so no model compute ever runs
 * on the HTTP thread's event loop. Talks to the HTTP thread only through the protocol in app/engine/protocol.ts.
 */
import { setupBackend, type BackendChoice } from '@tracetune/model';
import { parentPort, workerData } from 'node:worker_threads';
import { ModelCache } from './app/engine/model-cache';
import type { FromEngine, ToEngine } from './app/engine/protocol';
import { Scheduler } from './app/engine/scheduler';

interface EngineOptions {
  dataDir: string;
  backend: BackendChoice;
  memoryBudgetBytes: number;
  prefixCacheBytes: number;
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('engine-thread must run as a worker thread');
  const options = workerData as EngineOptions;
  const post = (message: FromEngine) => port.postMessage(message);
  const report = await setupBackend(options.backend);
  const scheduler = new Scheduler(new ModelCache(options.dataDir, options.memoryBudgetBytes, options.prefixCacheBytes), post);
  port.on('message', (message: ToEngine) => {
    if (message.type === 'submit') void scheduler.submit(message.request);
    else scheduler.cancel(message.id);
  });
  post({ type: 'ready', backend: report.backend, reason: report.reason });
}

void main();
