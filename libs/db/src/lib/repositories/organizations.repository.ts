import { Injectable } from '@nestjs/common';

import type { Organization } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

@Injectable()
export class OrganizationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  findById(id: string): Promise<Organization | null> {
    return this.prisma.organization.findUnique({ where: { id } });
  }

  /** Creates the organization if it does not exist yet; returns it either way. */
  ensure(id: string, name: string): Promise<Organization> {
    return this.prisma.organization.upsert({ where: { id }, update: {}, create: { id, name } });
  }
}
