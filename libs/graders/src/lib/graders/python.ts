import { codeGradeFn } from './code';
import { checkKnownKeys, checkNumber, checkString, type GraderTypeDefinition } from './definition';

/**
 * OpenAI's python grader: `{type:'python', name, source:'def grade(sample, item) -> float: …', image_tag?}`, run in
 * a Pyodide interpreter on a pool thread (python-sandbox.ts); `timeout_ms` and `pass_threshold` are our additions.
 * `image_tag` is accepted for compatibility and ignored (there is one interpreter: CPython 3.14 with its standard
 * library). Failures are flagged as `codeGradeFn` describes, exactly like a javascript grader's.
 */
export const pythonGrader: GraderTypeDefinition = {
  type: 'python',
  validate(config, param, issues) {
    checkKnownKeys(
      config,
      ['type', 'name', 'source', 'image_tag', 'timeout_ms', 'pass_threshold'],
      param,
      issues,
    );
    checkString(config, 'name', param, issues, { nonEmpty: true });
    checkString(config, 'source', param, issues, { nonEmpty: true });
    checkString(config, 'image_tag', param, issues, { optional: true });
    checkNumber(config, 'timeout_ms', param, issues, { min: 1, max: 60_000 });
    checkNumber(config, 'pass_threshold', param, issues);
    if (typeof config.source === 'string' && !/\bdef\s+grade\b/.test(config.source)) {
      issues.push({
        param: `${param}.source`,
        message: 'source must define a function grade(sample, item) returning a float',
      });
    }
  },
  create: (config, deps) => codeGradeFn('python', config, deps),
  templates: () => [],
};
