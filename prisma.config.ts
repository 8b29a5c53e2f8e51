// Prisma 7 keeps the database URL here, not in the schema. Only `prisma generate` uses this file in Tracetune
// (migrations run through tools/scripts/db.mjs), so a missing DATABASE_URL must not fail it.
import { defineConfig } from 'prisma/config';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env['DATABASE_URL'] ?? 'postgresql://postgres@127.0.0.1:5432/tracetune' },
});
