import { createTestDatabase, queryDatabase } from './test-database';

describe('createTestDatabase', () => {
  it('should apply every committed migration to an empty database and drop it afterwards', async () => {
    const db = await createTestDatabase();
    const tables = await queryDatabase<{ table_name: string }>(
      db.url,
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(tables.map((t) => t.table_name)).toEqual([
      '_prisma_migrations',
      'api_keys',
      'checkpoint_permissions',
      'checkpoints',
      'deployment',
      'files',
      'fine_tuning_events',
      'fine_tuning_jobs',
      'models',
      'organizations',
      'training_metrics',
    ]);
    const migrations = await queryDatabase<{ finished_at: Date | null }>(
      db.url,
      'SELECT finished_at FROM _prisma_migrations',
    );
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.every((m) => m.finished_at !== null)).toBe(true);
    await db.drop();
    const left = await queryDatabase(
      'postgresql://postgres@127.0.0.1:5432/postgres',
      'SELECT 1 FROM pg_database WHERE datname = $1',
      [db.name],
    );
    expect(left).toEqual([]);
  });
});
