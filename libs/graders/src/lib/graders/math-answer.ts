import { answersEquivalent, extractAnswer, referenceAnswer } from '../math-answer';
import { renderTemplate } from '../template';
import {
  checkKnownKeys,
  checkNumber,
  checkString,
  checkTemplate,
  type GraderTypeDefinition,
} from './definition';

export const mathAnswerGrader: GraderTypeDefinition = {
  type: 'math_answer',
  validate(config, param, issues) {
    checkKnownKeys(
      config,
      ['type', 'name', 'input', 'reference', 'tolerance', 'pass_threshold'],
      param,
      issues,
    );
    checkString(config, 'name', param, issues, { nonEmpty: true });
    checkTemplate(config, 'input', param, issues, { optional: true });
    checkTemplate(config, 'reference', param, issues);
    checkNumber(config, 'tolerance', param, issues, { min: 0, max: 1 });
    checkNumber(config, 'pass_threshold', param, issues, { min: 0, max: 1 });
  },
  create(config) {
    const input = (config.input as string | undefined) ?? '{{sample.output_text}}';
    const reference = config.reference as string;
    const tolerance = (config.tolerance as number | undefined) ?? 1e-6;
    return async (sample, item) => {
      const expected = referenceAnswer(renderTemplate(reference, sample, item));
      const answer = extractAnswer(renderTemplate(input, sample, item));
      // No extractable answer is a wrong answer (score 0), not a grading error.
      return { score: answer !== null && answersEquivalent(answer, expected, tolerance) ? 1 : 0 };
    };
  },
  templates: (config, param) => [
    { param: `${param}.input`, template: (config.input as string | undefined) ?? '{{sample.output_text}}' },
    { param: `${param}.reference`, template: config.reference as string },
  ],
};
