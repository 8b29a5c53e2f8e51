import { Injectable } from '@nestjs/common';

import type { ApiKeyObject, CreateApiKeyRequest, CreatedApiKey, ListResponse } from '@tracetune/contracts';
import { newId } from '@tracetune/contracts';
import { ApiKeysRepository, OrganizationsRepository, type ApiKey } from '@tracetune/db';

import { generateApiKey, hashApiKey, keyPrefix } from '../auth/api-key-hash';
import type { Principal } from '../auth/principal';
import { ApiError } from '../common/api-error';
import { unixSeconds } from '../common/time';

function toApiKeyObject(key: ApiKey): ApiKeyObject {
  return {
    id: key.id,
    object: 'api_key',
    name: key.name,
    role: key.role,
    organization_id: key.organizationId,
    prefix: key.prefix,
    created_at: unixSeconds(key.createdAt),
    last_used_at: unixSeconds(key.lastUsedAt),
    revoked_at: unixSeconds(key.revokedAt),
  };
}

/**
 * Admin management of API keys. Admins operate the server: they may create keys (and so organizations) for any
 * organization, which is how a new tenant is onboarded.
 */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly apiKeys: ApiKeysRepository,
    private readonly organizations: OrganizationsRepository,
  ) {}

  async create(caller: Principal, request: CreateApiKeyRequest): Promise<CreatedApiKey> {
    const organizationId = request.organization_id ?? caller.organizationId;
    if (!/^org-[A-Za-z0-9_-]{1,64}$/.test(organizationId)) {
      throw ApiError.badRequest(
        "organization_id must look like 'org-' followed by up to 64 letters, digits, '_' or '-'",
        'organization_id',
      );
    }
    await this.organizations.ensure(organizationId, request.organization_name ?? organizationId);
    const secret = generateApiKey();
    const key = await this.apiKeys.create({
      id: newId('apiKey'),
      organizationId,
      name: request.name,
      prefix: keyPrefix(secret),
      hash: hashApiKey(secret),
      role: request.role,
    });
    return { ...toApiKeyObject(key), key: secret };
  }

  async list(caller: Principal, organizationId?: string): Promise<ListResponse<ApiKeyObject>> {
    const keys = await this.apiKeys.list(organizationId ?? caller.organizationId);
    return { object: 'list', data: keys.map(toApiKeyObject), has_more: false };
  }

  /**
   * Revokes a key of any organization by its id (ids are unique across organizations; the route is admin-only, as
   * creating keys for any organization is). With `organization_id`, only a key of that organization.
   */
  async revoke(id: string, organizationId?: string): Promise<ApiKeyObject> {
    const key = await this.apiKeys.revoke(organizationId, id);
    if (!key) throw ApiError.notFound(`No API key with id '${id}'.`, 'id');
    return toApiKeyObject(key);
  }
}
