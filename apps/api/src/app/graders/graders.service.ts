import { Injectable, type OnModuleDestroy } from '@nestjs/common';

import { Config } from '@tracetune/config';
import {
  GraderConfigError,
  GraderPool,
  JudgeClient,
  runGrader,
  validateGraderRequest,
  type CreateGraderOptions,
  type GraderConfigIssue,
  type RunGraderParams,
} from '@tracetune/graders';

import { ApiError } from '../common/api-error';

/**
 * Grader dry-runs for users and for job validation. One judge client (one concurrency limit for the process) and one
 * code-grader pool are shared by every request. Code graders run on the pool's threads, never on this event loop;
 * their time limit is capped at TRACETUNE_GRADER_RUN_TIMEOUT_MS and a call past it has its thread terminated.
 */
@Injectable()
export class GradersService implements OnModuleDestroy {
  private readonly judge: JudgeClient | undefined;
  readonly pool: GraderPool;

  constructor(config: Config) {
    const baseURL = config.get('TRACETUNE_JUDGE_BASE_URL');
    this.judge = baseURL
      ? new JudgeClient({ baseURL, apiKey: config.get('TRACETUNE_JUDGE_API_KEY') ?? 'none' })
      : undefined;
    const cap = config.get('TRACETUNE_GRADER_RUN_TIMEOUT_MS');
    this.pool = new GraderPool({
      threads: config.get('TRACETUNE_GRADER_THREADS'),
      timeoutMs: Math.min(1000, cap),
      maxTimeoutMs: cap,
    });
  }

  get options(): CreateGraderOptions {
    return { judge: this.judge, code: this.pool };
  }

  /** `tenant`: the caller's organization (Python sandbox threads are never shared between organizations). */
  run(request: RunGraderParams, tenant: string) {
    return this.translate(() => runGrader(request, { ...this.options, tenant }));
  }

  validate(grader: Record<string, unknown>, tenant: string) {
    return this.translate(() => validateGraderRequest({ grader }, { code: this.pool, tenant }));
  }

  /** The first problem of a valid grader's code sources (they do not load or define grade), or null. */
  async codeProblem(grader: Record<string, unknown>, tenant: string): Promise<GraderConfigIssue | null> {
    try {
      await validateGraderRequest({ grader }, { code: this.pool, tenant });
      return null;
    } catch (error) {
      if (error instanceof GraderConfigError) return error.issues[0] ?? null;
      throw error;
    }
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
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
