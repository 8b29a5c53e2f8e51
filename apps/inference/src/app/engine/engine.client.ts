import { Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { Config } from '@tracetune/config';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromEngine, GenerationRequest, ToEngine } from './protocol';

type Listener = (message: FromEngine) => void;

/** The HTTP thread's handle on the engine thread: submit a request, receive its events, cancel it. */
@Injectable()
export class EngineClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(EngineClient.name);
  private readonly listeners = new Map<string, Listener>();
  private worker!: Worker;
  backend = 'starting';

  constructor(private readonly config: Config) {}

  onModuleInit(): void {
    this.worker = new Worker(join(__dirname, 'engine-thread.js'), {
      workerData: {
        dataDir: resolve(this.config.get('TRACETUNE_DATA_DIR')),
        backend: this.config.get('TRACETUNE_BACKEND'),
        memoryBudgetBytes: this.config.get('TRACETUNE_INFERENCE_MEMORY_MB') * 1024 * 1024,
        prefixCacheBytes: this.config.get('TRACETUNE_PREFIX_CACHE_MB') * 1024 * 1024,
      },
    });
    this.worker.on('message', (batch: FromEngine[]) => batch.forEach((message) => this.dispatch(message)));
    this.worker.on('error', (error) => {
      this.logger.error(`engine thread failed: ${error.message}`);
      for (const [id, listener] of this.listeners) listener({ type: 'error', id, status: 500, message: 'The inference engine failed.', param: null, code: 'engine_error' });
      this.listeners.clear();
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.worker.terminate();
  }

  private dispatch(message: FromEngine): void {
    if (message.type === 'ready') {
      this.backend = message.backend;
      this.logger.log(`engine ready on the ${message.backend} backend (${message.reason})`);
      return;
    }
    this.listeners.get(message.id)?.(message);
    if (message.type === 'done' || message.type === 'error') this.listeners.delete(message.id);
  }

  submit(request: GenerationRequest, listener: Listener): void {
    this.listeners.set(request.id, listener);
    this.send({ type: 'submit', request });
  }

  cancel(id: string): void {
    if (!this.listeners.delete(id)) return;
    this.send({ type: 'cancel', id });
  }

  private send(message: ToEngine): void {
    this.worker.postMessage(message);
  }
}
