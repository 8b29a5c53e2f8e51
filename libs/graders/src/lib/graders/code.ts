import { SampleGradingError } from '../errors';
import type { CodeLanguage } from '../pool/protocol';
import type { SandboxOutcome } from '../sandbox/javascript-sandbox';
import { isRecord, type GradeFn, type GraderDeps } from './definition';
import { subGraders } from './multi';

/**
 * The grading function of a code grader (javascript, python): the call runs in the deps' pool, off the caller's
 * thread. Failures use OpenAI's code-grader flags: a throw, a syntax error or a non-number result →
 * `python_grader_runtime_error` (+ details); a time-limit hit → `unresponsive_reward_error`; a memory-limit hit →
 * `python_grader_runtime_error` with details "memory limit exceeded"; a sandbox failure → `python_grader_server_error`.
 */
export function codeGradeFn(
  language: CodeLanguage,
  config: Record<string, unknown>,
  deps: GraderDeps,
): GradeFn {
  const source = config.source as string;
  const timeoutMs = config.timeout_ms as number | undefined;
  const pool = deps.code();
  return async (sample, item, context = {}) => {
    const out = await pool.run(
      { language, source, sample, item, timeoutMs },
      { signal: context.signal, tenant: context.tenant },
    );
    if (out.ok) return { score: out.value };
    throw outcomeError(`${language} grader`, out);
  };
}

function outcomeError(label: string, out: Exclude<SandboxOutcome, { ok: true }>): SampleGradingError {
  switch (out.kind) {
    case 'timeout':
      return new SampleGradingError(`${label}: ${out.message}`, {
        unresponsive_reward_error: true,
        python_grader_runtime_error_details: out.message,
      });
    case 'sandbox':
      return new SampleGradingError(`${label}: ${out.message}`, {
        python_grader_server_error: true,
        python_grader_server_error_type: 'sandbox_error',
      });
    default:
      return new SampleGradingError(`${label}: ${out.message}`, {
        python_grader_runtime_error: true,
        python_grader_runtime_error_details: out.message,
      });
  }
}

/** A code grader's source inside a (possibly multi) grader config, with its `param` path. */
export interface CodeSource {
  param: string;
  language: CodeLanguage;
  source: string;
  timeoutMs?: number;
}

/** Every code grader's source in a validated grader config (a multi grader's sub-graders included). */
export function codeSources(config: Record<string, unknown>, param: string): CodeSource[] {
  if (config.type === 'javascript' || config.type === 'python') {
    return [
      {
        param: `${param}.source`,
        language: config.type,
        source: config.source as string,
        timeoutMs: config.timeout_ms as number | undefined,
      },
    ];
  }
  if (config.type !== 'multi') return [];
  const single = isRecord(config.graders) && typeof config.graders.type === 'string';
  return Object.entries(subGraders(config)).flatMap(([key, sub]) =>
    codeSources(sub as Record<string, unknown>, single ? `${param}.graders` : `${param}.graders.${key}`),
  );
}
