import type { ApiKeyRole } from '@tracetune/contracts';

/** Who is calling: resolved from the Bearer key by the guard and attached to the request. */
export interface Principal {
  apiKeyId: string;
  organizationId: string;
  role: ApiKeyRole;
}

declare module 'express' {
  interface Request {
    principal?: Principal;
  }
}
