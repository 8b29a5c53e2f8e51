import { Injectable, type OnModuleDestroy } from '@nestjs/common';

import { Config } from '@tracetune/config';
import {
  GraderConfigError,
  JavaScriptSandbox,
  JudgeClient,
  runGrader,
  validateGraderRequest,
  type CreateGraderOptions,
  type RunGraderParams,
} from '@tracetune/graders';

import { ApiError } from '../common/api-error';

/**
 * Grader dry-runs for users and for job validation. One judge client (one concurrency limit for the process) and one
 * JavaScript sandbox are shared by every request.
 */
@Injectable()
export class GradersService implements OnModuleDestroy {
  private readonly judge: JudgeClient | undefined;
  private readonly sandbox = new JavaScriptSandbox();

  constructor(config: Config) {
    const baseURL = config.get('TRACETUNE_JUDGE_BASE_URL');
    this.judge = baseURL
      ? new JudgeClient({ baseURL, apiKey: config.get('TRACETUNE_JUDGE_API_KEY') ?? 'none' })
      : undefined;
  }

  get options(): CreateGraderOptions {
    return { judge: this.judge, javascript: this.sandbox };
  }

  run(request: RunGraderParams) {
    return this.translate(() => runGrader(request, this.options));
  }

  validate(grader: Record<string, unknown>) {
    return this.translate(() => validateGraderRequest({ grader }, { javascript: this.sandbox }));
  }

  onModuleDestroy(): void {
    this.sandbox.dispose();
  }

  /** Grader configuration problems are the caller's: 400 naming the param. */
  private async translate<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof GraderConfigError) {
        const needsJudge = !this.judge && /need a judge/.test(error.message);
        throw ApiError.badRequest(
          needsJudge
            ? 'score_model and label_model graders need a judge endpoint; the server has none configured (TRACETUNE_JUDGE_BASE_URL).'
            : error.message,
          error.param,
          needsJudge ? 'judge_not_configured' : 'invalid_grader',
        );
      }
      throw error;
    }
  }
}
