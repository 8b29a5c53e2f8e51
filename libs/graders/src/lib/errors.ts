import type { GraderErrorFlags, JudgeTokenUsage } from './types';

/** One problem in a grader's JSON, at an OpenAI-style `param` path (`grader.graders.a.operation`). */
export interface GraderConfigIssue {
  param: string;
  message: string;
}

/** Thrown by `createGrader` for an invalid grader JSON; carries every issue, the first as `param`/`message`. */
export class GraderConfigError extends Error {
  readonly param: string;
  readonly issues: GraderConfigIssue[];

  constructor(issues: GraderConfigIssue[]) {
    const first = issues[0] ?? { param: 'grader', message: 'invalid grader' };
    super(issues.length > 1 ? `${first.message} (and ${issues.length - 1} more problem(s))` : first.message);
    this.name = 'GraderConfigError';
    this.param = first.param;
    this.issues = issues;
  }
}

export function noErrors(): GraderErrorFlags {
  return {
    formula_parse_error: false,
    invalid_variable_error: false,
    model_grader_parse_error: false,
    model_grader_refusal_error: false,
    model_grader_server_error: false,
    model_grader_server_error_details: null,
    other_error: false,
    python_grader_runtime_error: false,
    python_grader_runtime_error_details: null,
    python_grader_server_error: false,
    python_grader_server_error_type: null,
    sample_parse_error: false,
    truncated_observation_error: false,
    unresponsive_reward_error: false,
  };
}

/** True when any boolean flag is set. */
export function hasError(flags: GraderErrorFlags): boolean {
  return Object.values(flags).some((v) => v === true);
}

/** OR of two flag sets; the first non-null detail string wins. */
export function mergeErrors(a: GraderErrorFlags, b: GraderErrorFlags): GraderErrorFlags {
  const out = { ...a };
  for (const key of Object.keys(b) as (keyof GraderErrorFlags)[]) {
    const value = b[key];
    if (value === true) (out as Record<string, unknown>)[key] = true;
    else if (typeof value === 'string' && out[key] === null) (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Signals a per-sample failure inside a grader; `gradeSafely` turns it into flags and score 0. */
export class SampleGradingError extends Error {
  readonly flags: Partial<GraderErrorFlags>;
  /** Judge tokens already spent when the failure happened (a parse error still cost a call). */
  readonly judge?: { tokenUsage: Record<string, JudgeTokenUsage>; sampledModelName: string | null };

  constructor(
    message: string,
    flags: Partial<GraderErrorFlags>,
    judge?: { tokenUsage: Record<string, JudgeTokenUsage>; sampledModelName: string | null },
  ) {
    super(message);
    this.name = 'SampleGradingError';
    this.flags = flags;
    this.judge = judge;
  }
}
