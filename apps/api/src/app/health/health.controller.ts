import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';

import type { HealthReport } from '@tracetune/contracts';

import { Public } from '../auth/auth.decorators';
import { AuthService } from '../auth/auth.service';
import { HealthService, publicHealth } from './health.service';

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthService,
    private readonly auth: AuthService,
  ) {}

  @Get()
  @ApiOperation({
    summary:
      'Checks PostgreSQL and Redis; 503 when either is down. Without an admin key: ok/error per dependency, no error text',
  })
  async check(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<HealthReport> {
    const report = await this.health.check();
    response.status(report.status === 'ok' ? 200 : 503);
    return (await this.isAdmin(authorization)) ? report : publicHealth(report);
  }

  /** Only operators see why a dependency failed (its error names hosts and ports); a bad key is just "not admin". */
  private async isAdmin(authorization: string | undefined): Promise<boolean> {
    if (!authorization) return false;
    const caller = await this.auth.authenticate(authorization).catch(() => null);
    return caller?.role === 'admin';
  }
}
