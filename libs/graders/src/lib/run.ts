import type {
  GraderRunParams,
  GraderRunResponse,
  GraderValidateParams,
  GraderValidateResponse,
} from 'openai/resources/fine-tuning/alpha/graders';

import { GraderConfigError, type GraderConfigIssue } from './errors';
import { isRecord } from './graders/definition';
import { subGraders } from './graders/multi';
import { createGrader, validateGrader, type CreateGraderOptions } from './registry';
import { JavaScriptSandbox } from './sandbox/javascript-sandbox';
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
  options: CreateGraderOptions = {},
): Promise<GraderRunResponse> {
  const item = params.item ?? {};
  if (!isRecord(item))
    throw new GraderConfigError([{ param: 'item', message: 'item must be a JSON object' }]);
  if (typeof params.model_sample !== 'string') {
    throw new GraderConfigError([{ param: 'model_sample', message: 'model_sample must be a string' }]);
  }
  const grader = createGrader(params.grader, options);
  try {
    const result = await grader.grade(sampleFromText(params.model_sample), item as GraderItem);
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
 * invalid grader throws `GraderConfigError` (→ HTTP 400). Beyond `validateGrader`, javascript sources are compiled
 * in the sandbox so that a syntax error is caught here rather than on every sample.
 */
export async function validateGraderRequest(
  params: GraderValidateParams | { grader: unknown },
  options: { javascript?: JavaScriptSandbox } = {},
): Promise<GraderValidateResponse> {
  const { ok, errors } = validateGrader(params.grader);
  if (!ok) throw new GraderConfigError(errors);
  const sources = javascriptSources(params.grader as Record<string, unknown>, 'grader');
  if (sources.length > 0) {
    const sandbox = options.javascript ?? new JavaScriptSandbox();
    try {
      const issues: GraderConfigIssue[] = [];
      for (const s of sources) {
        const problem = await sandbox.checkSource(s.source);
        if (problem)
          issues.push({ param: s.param, message: `javascript source does not compile: ${problem}` });
      }
      if (issues.length > 0) throw new GraderConfigError(issues);
    } finally {
      if (!options.javascript) sandbox.dispose();
    }
  }
  return { grader: params.grader as GraderValidateResponse['grader'] };
}

function javascriptSources(
  config: Record<string, unknown>,
  param: string,
): { param: string; source: string }[] {
  if (config.type === 'javascript') return [{ param: `${param}.source`, source: config.source as string }];
  if (config.type !== 'multi') return [];
  const single = isRecord(config.graders) && typeof config.graders.type === 'string';
  return Object.entries(subGraders(config)).flatMap(([key, sub]) =>
    javascriptSources(
      sub as Record<string, unknown>,
      single ? `${param}.graders` : `${param}.graders.${key}`,
    ),
  );
}
