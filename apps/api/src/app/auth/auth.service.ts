import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';

import { Config } from '@tracetune/config';
import { newId } from '@tracetune/contracts';
import { ApiKeysRepository, OrganizationsRepository, Prisma } from '@tracetune/db';

import { ApiError } from '../common/api-error';
import { generateApiKey, hashApiKey, keyPrefix, redactKey } from './api-key-hash';
import type { Principal } from './principal';

export const DEFAULT_ORGANIZATION = { id: 'org-default', name: 'Default organization' };
const TOUCH_INTERVAL_MS = 60_000;

@Injectable()
export class AuthService implements OnApplicationBootstrap {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly config: Config,
    private readonly apiKeys: ApiKeysRepository,
    private readonly organizations: OrganizationsRepository,
  ) {}

  /** Resolves an `Authorization` header to the caller, or throws the 401 the OpenAI SDK maps to AuthenticationError. */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) {
      throw new ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        { code: 'missing_api_key' },
      );
    }
    const key = match[1];
    const hash = hashApiKey(key);
    const found = await this.apiKeys.findActiveByHash(hash);
    if (!found) {
      const revoked = await this.apiKeys.findByHash(hash);
      throw new ApiError(
        401,
        revoked
          ? `The API key ${redactKey(key)} has been revoked.`
          : `Incorrect API key provided: ${redactKey(key)}.`,
        { code: revoked ? 'revoked_api_key' : 'invalid_api_key' },
      );
    }
    if (!found.lastUsedAt || Date.now() - found.lastUsedAt.getTime() > TOUCH_INTERVAL_MS) {
      void this.apiKeys.touch(found.id);
    }
    return { apiKeyId: found.id, organizationId: found.organizationId, role: found.role };
  }

  /**
   * First start: make sure an admin can get in. TRACETUNE_ADMIN_KEY is registered if no key has its hash (a revoked
   * bootstrap key stays revoked); without it, and with no active admin key, one is generated and printed once.
   */
  async onApplicationBootstrap(): Promise<void> {
    const configured = this.config.get('TRACETUNE_ADMIN_KEY');
    if (configured) {
      if (await this.apiKeys.findByHash(hashApiKey(configured))) return;
      await this.createBootstrapKey(configured);
      this.logger.log(`registered the admin key from TRACETUNE_ADMIN_KEY (${keyPrefix(configured)}…)`);
      return;
    }
    if ((await this.apiKeys.countActiveAdmins()) > 0) return;
    const key = generateApiKey();
    await this.createBootstrapKey(key);
    // Printed once, on purpose: this is the only copy of the secret.
    this.logger.warn(`created the bootstrap admin key; store it now, it is not shown again: ${key}`);
  }

  private async createBootstrapKey(key: string): Promise<void> {
    await this.organizations.ensure(DEFAULT_ORGANIZATION.id, DEFAULT_ORGANIZATION.name);
    try {
      await this.apiKeys.create({
        id: newId('apiKey'),
        organizationId: DEFAULT_ORGANIZATION.id,
        name: 'bootstrap admin',
        prefix: keyPrefix(key),
        hash: hashApiKey(key),
        role: 'admin',
      });
    } catch (error) {
      // Another api replica booting at the same moment registered it first.
      if (!(error instanceof Prisma.PrismaClientKnownRequestError && error.code === 'P2002')) throw error;
    }
  }
}
