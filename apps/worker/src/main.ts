import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Config, ConfigError } from '@tracetune/config';
import { Logger } from 'nestjs-pino';
import { startHealthServer } from './app/health-server';
import { WorkerHealthService } from './app/worker-health.service';
import { WorkerModule } from './app/worker.module';

async function main(): Promise<void> {
  const config = Config.fromProcessEnv();
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), { bufferLogs: true });
  const logger = app.get(Logger);
  app.useLogger(logger);
  app.enableShutdownHooks();
  await app.init();
  const health = app.get(WorkerHealthService);
  const server = await startHealthServer(config.get('WORKER_HEALTH_PORT'), config.get('HOST'), () => health.check());
  app.get(Logger).log(`worker ${health.workerId} ready; health on port ${config.get('WORKER_HEALTH_PORT')}`);
  const stop = async () => {
    server.close();
    await app.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 78 : 1);
});
