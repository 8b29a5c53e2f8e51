import 'reflect-metadata';

import { writeFileSync } from 'node:fs';

import { Config, ConfigError } from '@tracetune/config';

import { createApp } from './app/create-app';
import { buildOpenApiDocument } from './app/openapi/openapi';

async function main(): Promise<void> {
  const config = Config.fromProcessEnv();
  const app = await createApp(config);
  if (process.argv[2] === 'openapi') {
    // `node dist/apps/api/main.js openapi <file>`: write the spec and exit (npm run openapi).
    const target = process.argv[3] ?? 'docs/openapi.json';
    writeFileSync(target, `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`);
    await app.close();
    console.log(`wrote ${target}`);
    return;
  }
  await app.listen(config.get('PORT'), config.get('HOST'));
  app.getHttpServer().setTimeout(0);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(78);
  }
  console.error(error);
  process.exit(1);
});
