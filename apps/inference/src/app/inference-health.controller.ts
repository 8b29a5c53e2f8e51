import { access, constants, mkdir } from 'node:fs/promises';
import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';

import { Config } from '@tracetune/config';
import { healthReport, type HealthReport } from '@tracetune/contracts';

import { EngineClient } from './engine/engine.client';

@Controller('health')
export class InferenceHealthController {
  constructor(
    private readonly config: Config,
    private readonly engine: EngineClient,
  ) {}

  @Get()
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthReport> {
    const dataDir = this.config.get('TRACETUNE_DATA_DIR');
    const report = await healthReport(
      'inference',
      {
        storage: async () => {
          await mkdir(dataDir, { recursive: true });
          await access(dataDir, constants.R_OK);
        },
      },
      {
        backend: this.engine.backend,
        engines: this.engine.engineCount,
        requestsPerEngine: this.engine.requestsPerEngine,
        runningPerEngine: this.engine.runningPerEngine,
      },
    );
    response.status(report.status === 'ok' ? 200 : 503);
    return report;
  }
}
