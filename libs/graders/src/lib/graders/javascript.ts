import { codeGradeFn } from './code';
import { checkKnownKeys, checkNumber, checkString, type GraderTypeDefinition } from './definition';

/**
 * Our extension: `{type:'javascript', name, source:'function grade(sample, item) { … }'}` run in QuickJS on a pool
 * thread; failures are flagged as `codeGradeFn` describes.
 */
export const javascriptGrader: GraderTypeDefinition = {
  type: 'javascript',
  validate(config, param, issues) {
    checkKnownKeys(config, ['type', 'name', 'source', 'timeout_ms', 'pass_threshold'], param, issues);
    checkString(config, 'name', param, issues, { nonEmpty: true });
    checkString(config, 'source', param, issues, { nonEmpty: true });
    checkNumber(config, 'timeout_ms', param, issues, { min: 1, max: 60_000 });
    checkNumber(config, 'pass_threshold', param, issues);
    if (typeof config.source === 'string' && !/\bgrade\b/.test(config.source)) {
      issues.push({
        param: `${param}.source`,
        message: 'source must define a function named grade(sample, item)',
      });
    }
  },
  create: (config, deps) => codeGradeFn('javascript', config, deps),
  templates: () => [],
};
