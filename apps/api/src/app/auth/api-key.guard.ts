import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';

import { ApiError } from '../common/api-error';
import { ADMIN_ONLY, IS_PUBLIC } from './auth.decorators';
import { AuthService } from './auth.service';

/** Global guard: every route needs a Bearer API key unless marked @Public(); @AdminOnly() routes need an admin. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<Request>();
    request.principal = await this.auth.authenticate(request.headers.authorization);
    if (
      this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, targets) &&
      request.principal.role !== 'admin'
    ) {
      throw new ApiError(403, 'This endpoint requires an admin API key; the key you used is a member key.', {
        code: 'insufficient_permissions',
      });
    }
    return true;
  }
}
