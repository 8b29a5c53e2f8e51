export type * from './generated/prisma/client';
export { Prisma } from './generated/prisma/client';
export { DbModule } from './lib/db.module';
export { PrismaService } from './lib/prisma.service';
export { ApiKeysRepository, type ApiKeyWithOrganization } from './lib/repositories/api-keys.repository';
export { OrganizationsRepository } from './lib/repositories/organizations.repository';
export { FilesRepository, LIVE_JOB_STATUSES } from './lib/repositories/files.repository';
