import 'reflect-metadata';

import { totalmem } from 'node:os';
import { getQueueToken } from '@nestjs/bull';
import { NestFactory } from '@nestjs/core';
import type { Queue } from 'bull';
import { Logger } from 'nestjs-pino';

import { Config, ConfigError } from '@tracetune/config';
import { ACCELERATED_TRAINING_QUEUE, TRAINING_QUEUE, type WorkerCapabilities } from '@tracetune/contracts';
import {
  backendMemoryLimitBytes,
  backendTensorLimitBytes,
  setupBackend,
  type BackendChoice,
  type BackendReport,
} from '@tracetune/model';

import { startHealthServer } from './app/health-server';
import { WorkerMetrics } from './app/metrics/worker-metrics';
import { JobRunner } from './app/training/job-runner.service';
import { WorkerHealthService } from './app/worker-health.service';
import { WorkerModule } from './app/worker.module';

function adapterOf(report: BackendReport): WorkerCapabilities['adapter'] {
  const a = report.adapter;
  if (!a) return null;
  const { vendor, architecture, device, description, software } = a;
  return {
    ...{ vendor, architecture, device, description, software },
    max_buffer_bytes: a.limits.maxBufferSize,
    max_storage_binding_bytes: a.limits.maxStorageBufferBindingSize,
  };
}

/**
 * What this worker can run: the backend that loads here (the training process loads the same one) decides whether it
 * has an accelerator and so whether it also takes jobs from the accelerated queue. A worker on webgpu does (also on a
 * software adapter, which it only gets when webgpu was asked for by name).
 */
async function detectCapabilities(choice: BackendChoice): Promise<WorkerCapabilities> {
  const report = await setupBackend(choice, (line) => console.log(line));
  const accelerator =
    report.loaded === 'tensorflow-gpu' ? 'cuda' : report.loaded === 'webgpu' ? 'webgpu' : 'none';
  return {
    backend: report.backend,
    accelerator,
    adapter: adapterOf(report),
    memory: {
      system_bytes: totalmem(),
      backend_limit_bytes: backendMemoryLimitBytes(),
      max_tensor_bytes: backendTensorLimitBytes(),
    },
    queues: accelerator === 'none' ? [TRAINING_QUEUE] : [TRAINING_QUEUE, ACCELERATED_TRAINING_QUEUE],
  };
}

async function main(): Promise<void> {
  const config = Config.fromProcessEnv();
  const capabilities = await detectCapabilities(config.get('TRACETUNE_BACKEND'));
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config, capabilities), {
    bufferLogs: true,
  });
  const logger = app.get(Logger);
  app.useLogger(logger);
  // No enableShutdownHooks: its own SIGTERM handler would close the database and the queues under a job that is
  // still checkpointing. `stop` below drains the job first, then closes the application (which runs every hook).
  await app.init();
  const health = app.get(WorkerHealthService);
  const server = await startHealthServer(
    config.get('WORKER_HEALTH_PORT'),
    config.get('HOST'),
    () => health.check(),
    app.get(WorkerMetrics),
  );
  app
    .get(Logger)
    .log(
      `worker ${health.workerId} ready on the ${capabilities.backend} backend (accelerator: ${capabilities.accelerator}${capabilities.adapter ? `; adapter: ${capabilities.adapter.description || capabilities.adapter.vendor}` : ''}; queues: ${capabilities.queues.join(', ')}); health on port ${config.get('WORKER_HEALTH_PORT')}`,
    );
  // SIGTERM/SIGINT: take no new delivery, let the running job checkpoint and go back to the queue (within
  // TRACETUNE_SHUTDOWN_GRACE_MS), then close. A second signal exits at once.
  const stop = async () => {
    process.once('SIGTERM', () => process.exit(1));
    process.once('SIGINT', () => process.exit(1));
    for (const name of capabilities.queues)
      await app
        .get<Queue>(getQueueToken(name))
        .pause(true, true)
        .catch(() => undefined);
    await app.get(JobRunner).drain(config.get('TRACETUNE_SHUTDOWN_GRACE_MS'));
    server.close();
    await app.close();
    logger.log('worker stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 78 : 1);
});
