import type { GraderTypeDefinition } from './definition';

/** Known so that the error can say what to do instead; never valid here. */
export const pythonGrader: GraderTypeDefinition = {
  type: 'python',
  validate(_config, param, issues) {
    issues.push({
      param: `${param}.type`,
      message:
        'python graders are not supported: Tracetune has no Python sandbox. Port the function to a javascript grader ' +
        '({"type": "javascript", "name": …, "source": "function grade(sample, item) { … return score; }"}), ' +
        'which runs in a QuickJS sandbox with time and memory limits',
    });
  },
  create() {
    throw new Error('python graders are not supported');
  },
  templates: () => [],
};
