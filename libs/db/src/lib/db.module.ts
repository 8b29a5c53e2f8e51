import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service';
import { ApiKeysRepository } from './repositories/api-keys.repository';
import { FilesRepository } from './repositories/files.repository';
import { OrganizationsRepository } from './repositories/organizations.repository';

const repositories = [ApiKeysRepository, FilesRepository, OrganizationsRepository];

/** PrismaService and every repository; needs the global ConfigModule. */
@Global()
@Module({ providers: [PrismaService, ...repositories], exports: [PrismaService, ...repositories] })
export class DbModule {}
