export * from './lib/types';
export { GraderConfigError, noErrors, hasError, type GraderConfigIssue } from './lib/errors';
export {
  createGrader,
  validateGrader,
  registerGraderType,
  knownGraderTypes,
  graderTemplates,
  gradeSafely,
  type CreateGraderOptions,
  type GraderValidation,
} from './lib/registry';
export type {
  GraderTypeDefinition,
  GraderDeps,
  RawGrade,
  GradeFn,
  TemplateField,
  NestedGraders,
} from './lib/graders/definition';
export { checkGraderAgainstRows, type RowCheckResult, type RowVariableProblem } from './lib/dataset-check';
export { runGrader, validateGraderRequest, type RunGraderParams } from './lib/run';
export { JudgeClient, type JudgeClientOptions } from './lib/judge/judge-client';
export {
  GraderPool,
  GradingAbortedError,
  type CodeCallOptions,
  type CodeRunner,
  type CodeTask,
  type GraderPoolOptions,
} from './lib/pool/grader-pool';
export type { CodeLanguage } from './lib/pool/protocol';
export {
  JavaScriptSandbox,
  type JavaScriptSandboxOptions,
  type SandboxOutcome,
} from './lib/sandbox/javascript-sandbox';
export { renderTemplate, sampleFromText, templateVariables } from './lib/template';
export {
  parseFormula,
  evaluateFormula,
  FormulaSyntaxError,
  FORMULA_FUNCTIONS,
  type FormulaNode,
} from './lib/formula';
export { TEXT_SIMILARITY_METRICS, type TextSimilarityMetric } from './lib/text-similarity/metrics';
export { extractAnswer, answersEquivalent } from './lib/math-answer';
