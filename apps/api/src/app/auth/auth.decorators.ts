import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

import type { Principal } from './principal';

export const IS_PUBLIC = 'tracetune:public';
export const ADMIN_ONLY = 'tracetune:admin-only';

/** The route needs no API key (health, metrics, docs). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

/** The route needs an `admin` key; a `member` key gets 403. */
export const AdminOnly = () => SetMetadata(ADMIN_ONLY, true);

/** The authenticated caller. */
export const CurrentPrincipal = createParamDecorator(
  (_data: unknown, context: ExecutionContext): Principal => {
    const principal = context.switchToHttp().getRequest<Request>().principal;
    if (!principal) throw new Error('CurrentPrincipal used on a public route');
    return principal;
  },
);
