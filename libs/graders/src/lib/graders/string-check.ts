import { renderTemplate } from '../template';
import {
  checkKnownKeys,
  checkOneOf,
  checkString,
  checkTemplate,
  type GraderTypeDefinition,
} from './definition';

/** OpenAI's operations, plus `neq` as an alias of `ne`. */
const OPERATIONS = {
  eq: (input: string, reference: string) => input === reference,
  ne: (input: string, reference: string) => input !== reference,
  neq: (input: string, reference: string) => input !== reference,
  // like / ilike: the input contains the reference (case-sensitive / case-insensitive), as in OpenAI's docs.
  like: (input: string, reference: string) => input.includes(reference),
  ilike: (input: string, reference: string) => input.toLowerCase().includes(reference.toLowerCase()),
} as const;

export const stringCheckGrader: GraderTypeDefinition = {
  type: 'string_check',
  validate(config, param, issues) {
    checkKnownKeys(config, ['type', 'name', 'input', 'reference', 'operation'], param, issues);
    checkString(config, 'name', param, issues, { nonEmpty: true });
    checkTemplate(config, 'input', param, issues);
    checkTemplate(config, 'reference', param, issues);
    checkOneOf(config, 'operation', Object.keys(OPERATIONS), param, issues);
  },
  create(config) {
    const input = config.input as string;
    const reference = config.reference as string;
    const op = OPERATIONS[config.operation as keyof typeof OPERATIONS];
    return async (sample, item) => ({
      score: op(renderTemplate(input, sample, item), renderTemplate(reference, sample, item)) ? 1 : 0,
    });
  },
  templates: (config, param) => [
    { param: `${param}.input`, template: config.input as string },
    { param: `${param}.reference`, template: config.reference as string },
  ],
};
