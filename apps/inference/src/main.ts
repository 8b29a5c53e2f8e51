import 'reflect-metadata';

import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Logger } from 'nestjs-pino';

import { Config, ConfigError } from '@tracetune/config';

import { InferenceModule } from './app/inference.module';

async function main(): Promise<void> {
  const config = Config.fromProcessEnv();
  const app = await NestFactory.create<NestExpressApplication>(InferenceModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useBodyParser('json', { limit: config.get('TRACETUNE_MAX_JSON_BYTES') });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(config.get('INFERENCE_PORT'), config.get('HOST'));
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(error instanceof ConfigError ? 78 : 1);
});
