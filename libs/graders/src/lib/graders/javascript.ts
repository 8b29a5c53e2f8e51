import { SampleGradingError } from '../errors';
import { checkKnownKeys, checkNumber, checkString, type GraderTypeDefinition } from './definition';

/**
 * Our extension: `{type:'javascript', name, source:'function grade(sample, item) { … }'}` run in QuickJS.
 * Failures use OpenAI's code-grader flags: a throw, a syntax error or a non-number result →
 * `python_grader_runtime_error` (+ details); a time-limit hit → `unresponsive_reward_error`; a memory-limit hit →
 * `python_grader_runtime_error` with details "memory limit exceeded"; a sandbox failure → `python_grader_server_error`.
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
  create(config, deps) {
    const source = config.source as string;
    const timeoutMs = config.timeout_ms as number | undefined;
    const sandbox = deps.sandbox();
    return async (sample, item) => {
      const out = await sandbox.run(source, sample, item, timeoutMs);
      if (out.ok) return { score: out.value };
      switch (out.kind) {
        case 'timeout':
          throw new SampleGradingError(`javascript grader: ${out.message}`, {
            unresponsive_reward_error: true,
            python_grader_runtime_error_details: out.message,
          });
        case 'sandbox':
          throw new SampleGradingError(`javascript grader: ${out.message}`, {
            python_grader_server_error: true,
            python_grader_server_error_type: 'sandbox_error',
          });
        default:
          throw new SampleGradingError(`javascript grader: ${out.message}`, {
            python_grader_runtime_error: true,
            python_grader_runtime_error_details: out.message,
          });
      }
    };
  },
  templates: () => [],
};
