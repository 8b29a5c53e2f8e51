#!/usr/bin/env node
// Generates the Prisma client on install without downloading anything.
// `prisma generate` needs no schema engine, but the CLI still checks that PRISMA_SCHEMA_ENGINE_BINARY points at a
// file: point it at a stand-in that explains where migrations live instead (tools/scripts/no-native-schema-engine.sh).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const result = spawnSync(join(root, 'node_modules', '.bin', 'prisma'), ['generate'], {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
    PRISMA_SCHEMA_ENGINE_BINARY: join(root, 'tools', 'scripts', 'no-native-schema-engine.sh'),
  },
});
process.exit(result.status ?? 1);
