import type { GraderConfigIssue } from '../errors';
import type { JudgeClient } from '../judge/judge-client';
import type { CodeRunner } from '../pool/grader-pool';
import { templateVariables } from '../template';
import type { GradeOptions, GraderErrorFlags, GraderItem, GraderSample, JudgeTokenUsage } from '../types';

/** What a grader type's `grade` returns before `gradeSafely` fills in timing, flags and `passed`. */
export interface RawGrade {
  score: number;
  subScores?: Record<string, number>;
  errors?: Partial<GraderErrorFlags>;
  errorDetails?: string[];
  tokenUsage?: Record<string, JudgeTokenUsage>;
  sampledModelName?: string | null;
}

/** Services a grader may need; built once by `createGrader` and shared by sub-graders. */
export interface GraderDeps {
  judge(): JudgeClient;
  /** The code-grader pool (javascript, python): every code evaluation runs there, never on the caller's thread. */
  code(): CodeRunner;
  /** Builds a sub-grader (used by `multi`). */
  build(config: Record<string, unknown>, param: string): GradeFn;
}

/** Per-call context: an abort signal (cancel/pause kill a running code grader) and the tenant the call is for. */
export type GradeContext = GradeOptions;

export type GradeFn = (sample: GraderSample, item: GraderItem, context?: GradeContext) => Promise<RawGrade>;

/** A template-bearing field of a grader, for dataset checks (`checkGraderAgainstRows`). */
export interface TemplateField {
  param: string;
  template: string;
}

/** One entry of the grader registry. */
export interface GraderTypeDefinition {
  type: string;
  /** Appends every problem of `config` (already known to be an object with this `type`) to `issues`. */
  validate(
    config: Record<string, unknown>,
    param: string,
    issues: GraderConfigIssue[],
    nested: NestedGraders,
  ): void;
  /** Builds the grading function of a validated config. May throw on `deps` misuse (e.g. no judge configured). */
  create(config: Record<string, unknown>, deps: GraderDeps, param: string): GradeFn;
  /** Template strings of a validated config. */
  templates(config: Record<string, unknown>, param: string, nested: NestedGraders): TemplateField[];
}

/** Registry access for graders that hold graders (`multi`). */
export interface NestedGraders {
  validate(
    config: unknown,
    param: string,
    issues: GraderConfigIssue[],
    options: { allowMulti: boolean },
  ): void;
  templates(config: Record<string, unknown>, param: string): TemplateField[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkString(
  config: Record<string, unknown>,
  key: string,
  param: string,
  issues: GraderConfigIssue[],
  options: { optional?: boolean; nonEmpty?: boolean } = {},
): void {
  const value = config[key];
  if (value === undefined && options.optional) return;
  if (typeof value !== 'string') {
    issues.push({ param: `${param}.${key}`, message: `${key} must be a string` });
  } else if (options.nonEmpty && value.trim().length === 0) {
    issues.push({ param: `${param}.${key}`, message: `${key} must not be empty` });
  }
}

export function checkNumber(
  config: Record<string, unknown>,
  key: string,
  param: string,
  issues: GraderConfigIssue[],
  options: { min?: number; max?: number; exclusiveMin?: boolean } = {},
): void {
  const value = config[key];
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    issues.push({ param: `${param}.${key}`, message: `${key} must be a finite number` });
    return;
  }
  const { min, max, exclusiveMin } = options;
  if (min !== undefined && (exclusiveMin ? value <= min : value < min)) {
    issues.push({ param: `${param}.${key}`, message: `${key} must be ${exclusiveMin ? '>' : '≥'} ${min}` });
  }
  if (max !== undefined && value > max)
    issues.push({ param: `${param}.${key}`, message: `${key} must be ≤ ${max}` });
}

export function checkOneOf(
  config: Record<string, unknown>,
  key: string,
  allowed: readonly string[],
  param: string,
  issues: GraderConfigIssue[],
): void {
  const value = config[key];
  if (typeof value !== 'string' || !allowed.includes(value)) {
    issues.push({
      param: `${param}.${key}`,
      message: `${key} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; got ${JSON.stringify(value)}`,
    });
  }
}

/** Known keys of a grader; an unknown key is a mistake worth reporting (a typo would otherwise be ignored). */
export function checkKnownKeys(
  config: Record<string, unknown>,
  known: readonly string[],
  param: string,
  issues: GraderConfigIssue[],
): void {
  for (const key of Object.keys(config)) {
    if (!known.includes(key)) {
      issues.push({
        param: `${param}.${key}`,
        message: `unknown field "${key}"; known fields: ${known.join(', ')}`,
      });
    }
  }
}

/** A required template string whose `{{…}}` variables must all be well-formed. */
export function checkTemplate(
  config: Record<string, unknown>,
  key: string,
  param: string,
  issues: GraderConfigIssue[],
  options: { optional?: boolean } = {},
): void {
  checkString(config, key, param, issues, options);
  const value = config[key];
  if (typeof value === 'string') checkTemplateText(value, `${param}.${key}`, issues);
}

export function checkTemplateText(template: string, param: string, issues: GraderConfigIssue[]): void {
  for (const v of templateVariables(template)) {
    if ('error' in v) issues.push({ param, message: v.error });
  }
}
