import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { dropDatabase, queryDatabase, WORKSPACE_ROOT } from './test-database';

const run = promisify(execFile);

describe('tools/scripts/db.mjs deploy from several hosts at once', () => {
  it('should create the database once and apply each migration exactly once when three deploys race', async () => {
    const name = `tt_race_${randomBytes(6).toString('hex')}`;
    const url = `postgresql://postgres@127.0.0.1:5432/${name}`;
    try {
      const runs = await Promise.all(
        [1, 2, 3].map(() =>
          run(process.execPath, [join(WORKSPACE_ROOT, 'tools', 'scripts', 'db.mjs'), 'deploy'], {
            cwd: WORKSPACE_ROOT,
            env: { ...process.env, DATABASE_URL: url },
          }),
        ),
      );
      const applied = runs.filter((r) => r.stdout.includes('applied ')).length;
      expect(applied).toBe(1);
      expect(runs.filter((r) => r.stdout.includes('no migration to apply'))).toHaveLength(2);
      const rows = await queryDatabase<{ migration_name: string }>(
        url,
        'SELECT migration_name FROM _prisma_migrations ORDER BY migration_name',
      );
      const committed = readdirSync(join(WORKSPACE_ROOT, 'prisma', 'migrations'), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
      expect(rows.map((r) => r.migration_name)).toEqual(committed);
    } finally {
      await dropDatabase(name);
    }
  }, 60_000);
});
