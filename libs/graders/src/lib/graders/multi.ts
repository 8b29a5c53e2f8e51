import { mergeErrors, noErrors, SampleGradingError } from '../errors';
import {
  evaluateFormula,
  FormulaSyntaxError,
  formulaVariables,
  parseFormula,
  type FormulaNode,
} from '../formula';
import { GradingAbortedError } from '../pool/grader-pool';
import type { JudgeTokenUsage } from '../types';
import { checkKnownKeys, checkNumber, checkString, isRecord, type GraderTypeDefinition } from './definition';

/**
 * `graders` is a name → grader map (OpenAI's API reference); the SDK's type has a single grader instead, which we
 * accept as a one-entry map keyed by its `name`.
 */
export function subGraders(config: Record<string, unknown>): Record<string, unknown> {
  const graders = config.graders;
  if (isRecord(graders) && typeof graders.type === 'string') {
    return { [typeof graders.name === 'string' ? graders.name : 'grader']: graders };
  }
  return isRecord(graders) ? graders : {};
}

/** Graders whose sub-graders are mapped into one shared accumulation of judge usage. */
function addUsage(
  into: Record<string, JudgeTokenUsage>,
  from: Record<string, JudgeTokenUsage> | undefined,
): void {
  for (const [model, u] of Object.entries(from ?? {})) {
    const acc = (into[model] ??= {
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      cached_tokens: 0,
    });
    acc.prompt_tokens += u.prompt_tokens;
    acc.completion_tokens += u.completion_tokens;
    acc.total_tokens += u.total_tokens;
    acc.cached_tokens += u.cached_tokens;
  }
}

/**
 * multi: runs every sub-grader (concurrently), then evaluates `calculate_output` with each sub-grader's score bound
 * to its name. A failed sub-grader contributes 0 and its flags; a non-finite result (1/0, log(−1)) is an other_error.
 */
export const multiGrader: GraderTypeDefinition = {
  type: 'multi',
  validate(config, param, issues, nested) {
    checkKnownKeys(config, ['type', 'name', 'graders', 'calculate_output', 'pass_threshold'], param, issues);
    checkString(config, 'name', param, issues, { nonEmpty: true });
    checkNumber(config, 'pass_threshold', param, issues);
    const graders = config.graders;
    if (!isRecord(graders) || Object.keys(graders).length === 0) {
      issues.push({
        param: `${param}.graders`,
        message: 'graders must be a non-empty object mapping names to graders',
      });
      return;
    }
    const single = typeof graders.type === 'string';
    const subs = subGraders(config);
    for (const [key, sub] of Object.entries(subs)) {
      nested.validate(sub, single ? `${param}.graders` : `${param}.graders.${key}`, issues, {
        allowMulti: false,
      });
    }
    if (typeof config.calculate_output !== 'string') {
      issues.push({
        param: `${param}.calculate_output`,
        message: 'calculate_output must be a string formula',
      });
      return;
    }
    let ast: FormulaNode;
    try {
      ast = parseFormula(config.calculate_output);
    } catch (e) {
      if (!(e instanceof FormulaSyntaxError)) throw e;
      issues.push({ param: `${param}.calculate_output`, message: `formula syntax error: ${e.message}` });
      return;
    }
    for (const [name, pos] of formulaVariables(ast)) {
      if (!(name in subs)) {
        issues.push({
          param: `${param}.calculate_output`,
          message: `unknown variable "${name}" at position ${pos}; the formula can use the sub-grader names: ${Object.keys(subs).join(', ')}`,
        });
      }
    }
  },
  create(config, deps, param) {
    const ast = parseFormula(config.calculate_output as string);
    const single = isRecord(config.graders) && typeof config.graders.type === 'string';
    const subs = Object.entries(subGraders(config)).map(
      ([key, sub]) =>
        [
          key,
          deps.build(sub as Record<string, unknown>, single ? `${param}.graders` : `${param}.graders.${key}`),
        ] as const,
    );
    return async (sample, item, context) => {
      const results = await Promise.all(
        subs.map(async ([key, grade]) => {
          try {
            return { key, raw: await grade(sample, item, context), failure: null };
          } catch (e) {
            if (e instanceof GradingAbortedError) throw e;
            return { key, raw: null, failure: e };
          }
        }),
      );
      const subScores: Record<string, number> = {};
      let errors = noErrors();
      const errorDetails: string[] = [];
      const tokenUsage: Record<string, JudgeTokenUsage> = {};
      let sampledModelName: string | null = null;
      for (const r of results) {
        if (r.raw) {
          subScores[r.key] = r.raw.score;
          errors = mergeErrors(errors, { ...noErrors(), ...r.raw.errors });
          errorDetails.push(...(r.raw.errorDetails ?? []).map((d) => `${r.key}: ${d}`));
          addUsage(tokenUsage, r.raw.tokenUsage);
          sampledModelName ??= r.raw.sampledModelName ?? null;
        } else {
          subScores[r.key] = 0;
          const flags = r.failure instanceof SampleGradingError ? r.failure.flags : { other_error: true };
          errors = mergeErrors(errors, { ...noErrors(), ...flags });
          if (r.failure instanceof SampleGradingError && r.failure.judge) {
            addUsage(tokenUsage, r.failure.judge.tokenUsage);
            sampledModelName ??= r.failure.judge.sampledModelName;
          }
          errorDetails.push(`${r.key}: ${(r.failure as Error)?.message ?? String(r.failure)}`);
        }
      }
      const score = evaluateFormula(ast, subScores);
      if (!Number.isFinite(score)) {
        errors.other_error = true;
        errorDetails.push(`calculate_output evaluated to ${score}`);
      }
      return { score, subScores, errors, errorDetails, tokenUsage, sampledModelName };
    };
  },
  templates: (config, param, nested) => {
    const single = isRecord(config.graders) && typeof config.graders.type === 'string';
    return Object.entries(subGraders(config)).flatMap(([key, sub]) =>
      nested.templates(
        sub as Record<string, unknown>,
        single ? `${param}.graders` : `${param}.graders.${key}`,
      ),
    );
  },
};
