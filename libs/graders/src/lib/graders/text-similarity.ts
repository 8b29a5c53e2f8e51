import { renderTemplate } from '../template';
import { TEXT_SIMILARITY_METRICS, type TextSimilarityMetric } from '../text-similarity/metrics';
import {
  checkKnownKeys,
  checkNumber,
  checkString,
  checkTemplate,
  type GraderTypeDefinition,
} from './definition';

export const textSimilarityGrader: GraderTypeDefinition = {
  type: 'text_similarity',
  validate(config, param, issues) {
    checkKnownKeys(
      config,
      ['type', 'name', 'input', 'reference', 'evaluation_metric', 'pass_threshold'],
      param,
      issues,
    );
    checkString(config, 'name', param, issues, { nonEmpty: true });
    checkTemplate(config, 'input', param, issues);
    checkTemplate(config, 'reference', param, issues);
    checkNumber(config, 'pass_threshold', param, issues, { min: 0, max: 1 });
    const metric = config.evaluation_metric;
    if (metric === 'cosine') {
      issues.push({
        param: `${param}.evaluation_metric`,
        message:
          'evaluation_metric "cosine" needs an embeddings model, which Tracetune graders do not call; ' +
          `use one of ${Object.keys(TEXT_SIMILARITY_METRICS).join(', ')}`,
      });
    } else if (typeof metric !== 'string' || !(metric in TEXT_SIMILARITY_METRICS)) {
      issues.push({
        param: `${param}.evaluation_metric`,
        message: `evaluation_metric must be one of ${Object.keys(TEXT_SIMILARITY_METRICS).join(', ')}; got ${JSON.stringify(metric)}`,
      });
    }
  },
  create(config) {
    const metric = TEXT_SIMILARITY_METRICS[config.evaluation_metric as TextSimilarityMetric];
    const input = config.input as string;
    const reference = config.reference as string;
    return async (sample, item) => ({
      score: metric(renderTemplate(input, sample, item), renderTemplate(reference, sample, item)),
    });
  },
  templates: (config, param) => [
    { param: `${param}.input`, template: config.input as string },
    { param: `${param}.reference`, template: config.reference as string },
  ],
};
