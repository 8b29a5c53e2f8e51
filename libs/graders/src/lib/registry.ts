import {
  GraderConfigError,
  hasError,
  mergeErrors,
  noErrors,
  SampleGradingError,
  type GraderConfigIssue,
} from './errors';
import { codeSources } from './graders/code';
import {
  isRecord,
  type GradeContext,
  type GradeFn,
  type GraderDeps,
  type GraderTypeDefinition,
  type NestedGraders,
  type RawGrade,
  type TemplateField,
} from './graders/definition';
import { javascriptGrader } from './graders/javascript';
import { mathAnswerGrader } from './graders/math-answer';
import { labelModelGrader, scoreModelGrader } from './graders/model-graders';
import { multiGrader } from './graders/multi';
import { pythonGrader } from './graders/python';
import { stringCheckGrader } from './graders/string-check';
import { textSimilarityGrader } from './graders/text-similarity';
import { JudgeClient, type JudgeClientOptions } from './judge/judge-client';
import { GraderPool, GradingAbortedError, type CodeRunner, type GraderPoolOptions } from './pool/grader-pool';
import type { Grader, GradeResult, GraderItem, GraderSample } from './types';

const registry = new Map<string, GraderTypeDefinition>();

/** Adds a grader type (the built-ins register themselves below); a type name can be registered once. */
export function registerGraderType(definition: GraderTypeDefinition): void {
  if (registry.has(definition.type))
    throw new Error(`grader type "${definition.type}" is already registered`);
  registry.set(definition.type, definition);
}

[
  stringCheckGrader,
  textSimilarityGrader,
  scoreModelGrader,
  labelModelGrader,
  multiGrader,
  pythonGrader,
  mathAnswerGrader,
  javascriptGrader,
].forEach(registerGraderType);

/** Grader types that can be built. */
export function knownGraderTypes(): string[] {
  return [...registry.keys()];
}

const nested: NestedGraders = {
  validate: (config, param, issues, options) => validateAt(config, param, issues, options.allowMulti),
  templates: (config, param) => templatesAt(config, param),
};

function validateAt(config: unknown, param: string, issues: GraderConfigIssue[], allowMulti: boolean): void {
  if (!isRecord(config)) {
    issues.push({ param, message: 'a grader must be a JSON object with a "type"' });
    return;
  }
  const def = typeof config.type === 'string' ? registry.get(config.type) : undefined;
  if (!def) {
    issues.push({
      param: `${param}.type`,
      message: `unknown grader type ${JSON.stringify(config.type)}; known types: ${knownGraderTypes().join(', ')}`,
    });
    return;
  }
  if (def.type === 'multi' && !allowMulti) {
    issues.push({ param: `${param}.type`, message: 'a multi grader cannot contain another multi grader' });
    return;
  }
  def.validate(config, param, issues, nested);
}

function templatesAt(config: Record<string, unknown>, param: string): TemplateField[] {
  return registry.get(config.type as string)?.templates(config, param, nested) ?? [];
}

/** The definition of an already validated config. */
function definitionOf(config: Record<string, unknown>): GraderTypeDefinition {
  const def = registry.get(config.type as string);
  if (!def) throw new Error(`grader type ${String(config.type)} is not registered`);
  return def;
}

export interface GraderValidation {
  ok: boolean;
  errors: GraderConfigIssue[];
}

/** Checks a grader JSON without building it; every problem is listed with its `param` path (root `grader`). */
export function validateGrader(json: unknown): GraderValidation {
  const errors: GraderConfigIssue[] = [];
  validateAt(json, 'grader', errors, true);
  return { ok: errors.length === 0, errors };
}

/** Every template string of a valid grader with its `param` path. */
export function graderTemplates(json: unknown): TemplateField[] {
  assertValid(json);
  return templatesAt(json as Record<string, unknown>, 'grader');
}

function assertValid(json: unknown): void {
  const { ok, errors } = validateGrader(json);
  if (!ok) throw new GraderConfigError(errors);
}

export interface CreateGraderOptions {
  /** The judge for score_model / label_model graders: a shared client (one concurrency limit) or its options. */
  judge?: JudgeClient | JudgeClientOptions;
  /**
   * Where code graders (javascript, python) run: a shared pool (`GraderPool`, or any `CodeRunner`), or options for a
   * pool owned by this grader (started on its first code call, closed by `dispose`).
   */
  code?: CodeRunner | GraderPoolOptions;
}

/**
 * Builds a grader from its OpenAI JSON (or one of our extensions). Throws `GraderConfigError` for an invalid
 * grader, listing every issue; the returned grader's `grade` never throws.
 */
export function createGrader(json: unknown, options: CreateGraderOptions = {}): Grader {
  assertValid(json);
  const config = json as Record<string, unknown>;
  let judge: JudgeClient | null = options.judge instanceof JudgeClient ? options.judge : null;
  const shared = isCodeRunner(options.code) ? options.code : null;
  let owned: GraderPool | null = null;
  const deps: GraderDeps = {
    judge: () => {
      if (judge) return judge;
      if (!options.judge) {
        throw new GraderConfigError([
          {
            param: 'grader.model',
            message: 'model graders need a judge: pass createGrader(json, { judge: { baseURL, apiKey } })',
          },
        ]);
      }
      judge = new JudgeClient(options.judge as JudgeClientOptions);
      return judge;
    },
    code: () => shared ?? (owned ??= new GraderPool(options.code as GraderPoolOptions | undefined)),
    build: (sub, param) => definitionOf(sub).create(sub, deps, param),
  };
  const grade = definitionOf(config).create(config, deps, 'grader');
  const passThreshold = typeof config.pass_threshold === 'number' ? config.pass_threshold : undefined;
  return {
    name: config.name as string,
    type: config.type as string,
    grade: (sample, item, context) => gradeSafely(grade, sample, item, passThreshold, context),
    warm: async () => {
      const languages = new Set(codeSources(config, 'grader').map((s) => s.language));
      const pool = languages.size > 0 ? deps.code() : null;
      await Promise.all([...languages].map((l) => pool?.warm?.(l).catch(() => undefined)));
    },
    dispose: () => {
      void owned?.close();
    },
  };
}

function isCodeRunner(value: unknown): value is CodeRunner {
  return typeof (value as CodeRunner | undefined)?.run === 'function';
}

/**
 * Runs a grading function so that nothing escapes: a thrown `SampleGradingError` becomes its flags, anything else
 * `other_error`; a non-finite score is an `other_error`; any flag forces the score to 0. The one exception is the
 * caller's own abort (`context.signal`): `GradingAbortedError` propagates, since there is no grade to report.
 */
export async function gradeSafely(
  grade: GradeFn,
  sample: GraderSample,
  item: GraderItem,
  passThreshold?: number,
  context?: GradeContext,
): Promise<GradeResult> {
  const t0 = performance.now();
  let raw: RawGrade;
  let errors = noErrors();
  const errorDetails: string[] = [];
  try {
    raw = await grade(sample, item, context);
  } catch (e) {
    if (e instanceof GradingAbortedError) throw e;
    raw = { score: 0 };
    if (e instanceof SampleGradingError) {
      errors = mergeErrors(errors, { ...noErrors(), ...e.flags });
      if (e.judge)
        raw = { score: 0, tokenUsage: e.judge.tokenUsage, sampledModelName: e.judge.sampledModelName };
    } else {
      errors.other_error = true;
    }
    errorDetails.push((e as Error)?.message ?? String(e));
  }
  errors = mergeErrors(errors, { ...noErrors(), ...raw.errors });
  errorDetails.push(...(raw.errorDetails ?? []));
  let score = raw.score;
  if (typeof score !== 'number' || !Number.isFinite(score)) {
    errors.other_error = true;
    errorDetails.push(`grader produced a non-finite score: ${String(score)}`);
    score = 0;
  }
  if (hasError(errors)) score = 0;
  const result: GradeResult = {
    score,
    subScores: raw.subScores ?? {},
    errors,
    errorDetails,
    executionTimeMs: performance.now() - t0,
    tokenUsage: raw.tokenUsage ?? {},
    sampledModelName: raw.sampledModelName ?? null,
  };
  if (passThreshold !== undefined) result.passed = score >= passThreshold;
  return result;
}
