#!/usr/bin/env node
// Database migrations without Prisma's native schema engine (it cannot be downloaded everywhere: see README, "Database").
// Drives Prisma's own schema engine compiled to WebAssembly through the pg driver adapter, so migrations keep
// Prisma's folder layout and `_prisma_migrations` bookkeeping: a machine with the native binary can run
// `prisma migrate deploy` on the same folder.
//
//   node tools/scripts/db.mjs deploy           apply pending migrations (creates the database if missing)
//   node tools/scripts/db.mjs migrate <name>   create a migration from schema changes, then apply it
//   node tools/scripts/db.mjs status           list applied / pending migrations; exit 1 when behind
//   node tools/scripts/db.mjs diff             exit 2 when prisma/schema.prisma and the migrations drift (CI)
//   node tools/scripts/db.mjs reset            drop everything and re-apply the migrations (development only)
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PrismaPg } from '@prisma/adapter-pg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import * as engineGlue from '@prisma/schema-engine-wasm/schema_engine_bg';
import pg from 'pg';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const schemaPath = join(root, 'prisma', 'schema.prisma');
const migrationsDir = join(root, 'prisma', 'migrations');
const filters = { externalTables: [], externalEnums: [] };
const DEFAULT_URL = 'postgresql://postgres@127.0.0.1:5432/tracetune';

// Adapter bug 1: @prisma/adapter-pg cannot decode PostgreSQL's internal "char" (oid 18) and name (oid 19)
// columns, which the engine reads from the catalog. Report them as text (oid 25): their wire format is text.
const addFields = pg.Result.prototype.addFields;
pg.Result.prototype.addFields = function (fieldDescriptions) {
  for (const field of fieldDescriptions) {
    if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
  }
  return addFields.call(this, fieldDescriptions);
};

// Adapter bug 2: with a connectionString, pg ignores a separate `database`, so the shadow database would silently
// be the main one. Hand pg discrete fields instead.
function poolConfig(url) {
  const u = new URL(url);
  if (!/^postgres(ql)?:$/.test(u.protocol)) {
    throw new Error(`DATABASE_URL must be a postgresql:// URL, got "${u.protocol}"`);
  }
  const host = u.searchParams.get('host') ?? (decodeURIComponent(u.hostname) || '127.0.0.1');
  return {
    host,
    port: Number(u.port || 5432),
    user: decodeURIComponent(u.username || 'postgres'),
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres',
  };
}

// Adapter bug 3: the stock shadow-database adapter drops the database before closing its pool, which PostgreSQL
// refuses while connections are open. Close first, then drop.
class MigrationPgFactory extends PrismaPg {
  async connectToShadowDb() {
    const main = await this.connect();
    const database = `prisma_migrate_shadow_db_${randomUUID()}`;
    await main.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...this.config, database }).connect();
    const closeShadow = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await closeShadow();
      await main.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
      await main.dispose();
    };
    return shadow;
  }
}

async function ensureDatabase(config) {
  const admin = new pg.Client({ ...config, database: 'postgres' });
  await admin.connect();
  try {
    const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [config.database]);
    if (found.rowCount === 0) {
      try {
        await admin.query(`CREATE DATABASE "${config.database.replace(/"/g, '""')}"`);
        console.log(`created database "${config.database}"`);
      } catch (error) {
        // Another host or replica created it between our check and our CREATE: duplicate_database (42P04), or
        // unique_violation (23505) on pg_database when both CREATEs ran at the same moment.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      }
    }
  } finally {
    await admin.end();
  }
}

async function loadEngine(config, verbose) {
  const wasmPath = join(
    dirname(fileURLToPath(import.meta.resolve('@prisma/schema-engine-wasm'))),
    'schema_engine_bg.wasm',
  );
  const { instance } = await WebAssembly.instantiate(await readFile(wasmPath), {
    './schema_engine_bg.js': engineGlue,
  });
  engineGlue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  const schema = await readFile(schemaPath, 'utf8');
  const log = (line) => verbose && console.error(line);
  const factory = bindMigrationAwareSqlAdapterFactory(new MigrationPgFactory(config));
  const engine = await engineGlue.SchemaEngine.new({ datamodels: [[schemaPath, schema]] }, log, factory);
  return { engine, schema };
}

async function migrationsList() {
  await mkdir(migrationsDir, { recursive: true });
  const names = (await readdir(migrationsDir, { withFileTypes: true }))
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();
  const migrationDirectories = await Promise.all(
    names.map(async (name) => {
      try {
        const value = await readFile(join(migrationsDir, name, 'migration.sql'), 'utf8');
        return { path: name, migrationFile: { path: 'migration.sql', content: { tag: 'ok', value } } };
      } catch (error) {
        return {
          path: name,
          migrationFile: { path: 'migration.sql', content: { tag: 'error', value: String(error) } },
        };
      }
    }),
  );
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? await readFile(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories,
  };
}

const commands = {
  async deploy(engine) {
    const { appliedMigrationNames } = await engine.applyMigrations({
      migrationsList: await migrationsList(),
      filters,
    });
    console.log(
      appliedMigrationNames.length
        ? `applied ${appliedMigrationNames.length} migration(s): ${appliedMigrationNames.join(', ')}`
        : 'database is up to date; no migration to apply',
    );
    return 0;
  },

  async status(engine) {
    const list = await migrationsList();
    const result = await engine.diagnoseMigrationHistory({
      migrationsList: list,
      optInToShadowDatabase: false,
      filters,
    });
    const pending =
      result.history?.diagnostic === 'databaseIsBehind' ? result.history.unappliedMigrationNames : [];
    console.log(`${list.migrationDirectories.length} migration(s) in prisma/migrations`);
    if (result.history) console.log(JSON.stringify(result.history, null, 2));
    if (result.failedMigrationNames?.length) console.log(`failed: ${result.failedMigrationNames.join(', ')}`);
    if (!result.history && !result.failedMigrationNames?.length) console.log('database schema is up to date');
    return result.history || result.failedMigrationNames?.length || pending.length ? 1 : 0;
  },

  async migrate(engine, schema, name) {
    if (!name || !/^[a-z0-9_]+$/.test(name)) {
      console.error('usage: npm run db:migrate -- <snake_case_name>   (e.g. add_model_lineage)');
      return 64;
    }
    let list = await migrationsList();
    const diagnostic = await engine.devDiagnostic({ migrationsList: list, filters });
    if (diagnostic.action.tag === 'reset') {
      console.error(
        `the database needs a reset before a new migration can be created: ${diagnostic.action.reason}`,
      );
      console.error('run `node tools/scripts/db.mjs reset` on a development database, then retry');
      return 1;
    }
    await engine.applyMigrations({ migrationsList: list, filters });
    list = await migrationsList();
    await engine.devDiagnostic({ migrationsList: list, filters });
    const created = await engine.createMigration({
      draft: false,
      migrationName: name,
      migrationsList: list,
      schema: { files: [{ path: schemaPath, content: schema }] },
      filters,
    });
    if (!created.migrationScript) {
      console.log('schema and migrations agree; no migration created');
      return 0;
    }
    const dir = join(migrationsDir, created.generatedMigrationName);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `migration.${created.extension}`), created.migrationScript);
    const lockPath = join(migrationsDir, 'migration_lock.toml');
    if (!existsSync(lockPath)) {
      await writeFile(
        lockPath,
        '# Please do not edit this file manually\n# It should be added in your version-control system (e.g., Git)\nprovider = "postgresql"\n',
      );
    }
    console.log(`created prisma/migrations/${created.generatedMigrationName}`);
    return commands.deploy(engine);
  },

  async diff(engine, schema) {
    const result = await engine.diff({
      from: { tag: 'migrations', ...(await migrationsList()) },
      to: { tag: 'schemaDatamodel', files: [{ path: schemaPath, content: schema }] },
      script: true,
      exitCode: true,
      filters,
    });
    if (result.exitCode === 2) {
      console.error(
        'prisma/schema.prisma and prisma/migrations drift; this SQL is missing from the migrations:',
      );
      console.error(result.stdout);
      console.error('run `npm run db:migrate -- <name>` and commit the new migration');
    } else {
      console.log('schema and migrations agree');
    }
    return result.exitCode;
  },

  async reset(engine) {
    await engine.reset({ filters });
    return commands.deploy(engine);
  },
};

// Several hosts or replicas may run `deploy` at once (each container start, a `migrate` job per release): a session
// advisory lock makes them take turns, so each migration is applied exactly once and the later runs find nothing to
// do. The lock lives on its own connection and is released when that connection closes, even if this process dies.
const MIGRATION_LOCK = 7_243_117_001; // any constant shared by every Tracetune version

async function withMigrationLock(config, work) {
  const client = new pg.Client(config);
  await client.connect();
  try {
    const { rows } = await client.query('SELECT pg_try_advisory_lock($1) AS locked', [MIGRATION_LOCK]);
    if (!rows[0].locked) {
      console.log('another process is applying migrations; waiting for it');
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    }
    return await work();
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  if (!commands[command]) {
    console.error(`usage: db.mjs <${Object.keys(commands).join('|')}> [args]`);
    return 64;
  }
  const config = poolConfig(process.env.DATABASE_URL || DEFAULT_URL);
  await ensureDatabase(config);
  const run = async () => {
    const { engine, schema } = await loadEngine(config, process.env.DB_VERBOSE === '1');
    return commands[command](engine, schema, ...args);
  };
  return ['deploy', 'migrate', 'reset'].includes(command) ? withMigrationLock(config, run) : run();
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(`db ${process.argv[2] ?? ''} failed: ${error?.message ?? error}`);
    if (error?.stack && process.env.DB_VERBOSE === '1') console.error(error.stack);
    process.exit(1);
  },
);
