import type {
  GraderRunParams,
  GraderRunResponse,
  GraderValidateParams,
  GraderValidateResponse,
} from 'openai/resources/fine-tuning/alpha/graders';

import { GraderConfigError, type GraderConfigIssue } from './errors';
import { codeSources } from './graders/code';
import { isRecord } from './graders/definition';
import { GraderPool, type CodeRunner, type GraderPoolOptions } from './pool/grader-pool';
import { createGrader, validateGrader, type CreateGraderOptions } from './registry';
import { sampleFromText } from './template';
import type { GraderItem } from './types';

/** The run endpoint's body; `grader` may also be one of our extension types. */
export interface RunGraderParams extends Omit<GraderRunParams, 'grader'> {
  grader: GraderRunParams['grader'] | Record<string, unknown>;
}

/**
 * `POST /fine_tuning/alpha/graders/run`: grades one `model_sample` against `item` and answers in OpenAI's
 * `GraderRunResponse` shape. Throws `GraderConfigError` (→ HTTP 400 with its `param`) for an invalid grader or a
 * non-object item; a failing sample is not an exception but flags in `metadata.errors`.
 */
export async function runGrader(
  params: RunGraderParams,
  options: CreateGraderOptions & { tenant?: string } = {},
): Promise<GraderRunResponse> {
  const item = params.item ?? {};
  if (!isRecord(item))
    throw new GraderConfigError([{ param: 'item', message: 'item must be a JSON object' }]);
  if (typeof params.model_sample !== 'string') {
    throw new GraderConfigError([{ param: 'model_sample', message: 'model_sample must be a string' }]);
  }
  const grader = createGrader(params.grader, options);
  try {
    const result = await grader.grade(sampleFromText(params.model_sample), item as GraderItem, {
      tenant: options.tenant,
    });
    const totals = Object.values(result.tokenUsage);
    return {
      reward: result.score,
      sub_rewards: result.subScores,
      metadata: {
        name: grader.name,
        type: grader.type,
        errors: result.errors,
        execution_time: result.executionTimeMs / 1000,
        scores: result.subScores,
        token_usage: totals.length > 0 ? totals.reduce((s, u) => s + u.total_tokens, 0) : null,
        sampled_model_name: result.sampledModelName,
      },
      model_grader_token_usage_per_model: result.tokenUsage,
    };
  } finally {
    grader.dispose();
  }
}

/**
 * `POST /fine_tuning/alpha/graders/validate`: OpenAI answers `{grader}` (the grader echoed back) when valid; an
 * invalid grader throws `GraderConfigError` (→ HTTP 400). Beyond `validateGrader`, code sources (javascript, python)
 * are loaded in the pool, under the same limits as grading, so that a syntax error is caught here rather than on
 * every sample.
 */
export async function validateGraderRequest(
  params: GraderValidateParams | { grader: unknown },
  options: { code?: CodeRunner | GraderPoolOptions; tenant?: string } = {},
): Promise<GraderValidateResponse> {
  const { ok, errors } = validateGrader(params.grader);
  if (!ok) throw new GraderConfigError(errors);
  const sources = codeSources(params.grader as Record<string, unknown>, 'grader');
  if (sources.length === 0) return { grader: params.grader as GraderValidateResponse['grader'] };
  const shared = typeof (options.code as CodeRunner | undefined)?.run === 'function';
  const pool = shared ? (options.code as CodeRunner) : new GraderPool(options.code as GraderPoolOptions);
  try {
    const issues: GraderConfigIssue[] = [];
    for (const s of sources) {
      const problem = await pool.check(s.language, s.source, {
        timeoutMs: s.timeoutMs,
        tenant: options.tenant,
      });
      if (problem)
        issues.push({ param: s.param, message: `${s.language} source does not compile or load: ${problem}` });
    }
    if (issues.length > 0) throw new GraderConfigError(issues);
  } finally {
    if (!shared) await (pool as GraderPool).close();
  }
  return { grader: params.grader as GraderValidateResponse['grader'] };
}
