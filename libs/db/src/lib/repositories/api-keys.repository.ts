import { Injectable } from '@nestjs/common';

import type { ApiKey, ApiKeyRole, Organization } from '../../generated/prisma/client';
import { PrismaService } from '../prisma.service';

export type ApiKeyWithOrganization = ApiKey & { organization: Organization };

/** API keys. Lookups by hash are global (that is how a request finds its organization); the rest is org-scoped. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  findActiveByHash(hash: string): Promise<ApiKeyWithOrganization | null> {
    return this.prisma.apiKey.findFirst({
      where: { hash, revokedAt: null },
      include: { organization: true },
    });
  }

  /** Any key with this hash, revoked or not: lets auth say "revoked" rather than "invalid". */
  findByHash(hash: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findUnique({ where: { hash } });
  }

  countActiveAdmins(): Promise<number> {
    return this.prisma.apiKey.count({ where: { role: 'admin', revokedAt: null } });
  }

  create(data: {
    id: string;
    organizationId: string;
    name: string;
    prefix: string;
    hash: string;
    role: ApiKeyRole;
  }): Promise<ApiKey> {
    return this.prisma.apiKey.create({ data });
  }

  list(organizationId: string): Promise<ApiKey[]> {
    return this.prisma.apiKey.findMany({
      where: { organizationId },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
    });
  }

  findInOrganization(organizationId: string, id: string): Promise<ApiKey | null> {
    return this.prisma.apiKey.findFirst({ where: { id, organizationId } });
  }

  /** Revokes a key (of the organization, when given); returns null when no such key exists (there). */
  async revoke(organizationId: string | undefined, id: string): Promise<ApiKey | null> {
    const { count } = await this.prisma.apiKey.updateMany({
      where: { id, organizationId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    const key = await this.prisma.apiKey.findFirst({ where: { id, organizationId } });
    return count === 0 && !key ? null : key;
  }

  /** Best effort: a lost update of last-used time is harmless. */
  async touch(id: string): Promise<void> {
    await this.prisma.apiKey
      .update({ where: { id }, data: { lastUsedAt: new Date() } })
      .catch(() => undefined);
  }
}
