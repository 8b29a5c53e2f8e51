import { Controller, Get, Res } from '@nestjs/common';
import type { Response } from 'express';

import { healthReport, type HealthReport } from '@tracetune/contracts';

import { EngineClient } from './engine/engine.client';
import { ModelFiles } from './storage/model-files';

@Controller('health')
export class InferenceHealthController {
  constructor(
    private readonly engine: EngineClient,
    private readonly files: ModelFiles,
  ) {}

  @Get()
  async check(@Res({ passthrough: true }) response: Response): Promise<HealthReport> {
    const report = await healthReport(
      'inference',
      {
        storage: () => this.files.store.check(),
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
