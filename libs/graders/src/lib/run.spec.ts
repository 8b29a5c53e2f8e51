import OpenAI from 'openai';
import type { GraderRunResponse } from 'openai/resources/fine-tuning/alpha/graders';

import { GraderConfigError } from './errors';
import { runGrader, validateGraderRequest } from './run';

describe('run and validate endpoint helpers', () => {
  it('should answer in the SDK GraderRunResponse shape', async () => {
    const response: GraderRunResponse = await runGrader({
      grader: {
        type: 'multi',
        name: 'combo',
        graders: {
          exact: {
            type: 'string_check',
            name: 'exact',
            input: '{{sample.output_json.answer}}',
            reference: '{{item.answer}}',
            operation: 'eq',
          },
          sim: {
            type: 'text_similarity',
            name: 'sim',
            input: '{{sample.output_text}}',
            reference: '{"answer": "42"}',
            evaluation_metric: 'fuzzy_match',
          },
        },
        calculate_output: '0.5 * exact + 0.5 * sim',
      },
      model_sample: '{"answer": "42"}',
      item: { answer: '42' },
    });
    // exact = 1; sim = 1 (identical) → 1
    expect(response.reward).toBe(1);
    expect(response.sub_rewards).toEqual({ exact: 1, sim: 1 });
    expect(response.metadata).toMatchObject({
      name: 'combo',
      type: 'multi',
      scores: { exact: 1, sim: 1 },
      token_usage: null,
      sampled_model_name: null,
    });
    expect(response.metadata.errors.other_error).toBe(false);
    expect(typeof response.metadata.execution_time).toBe('number');
    expect(response.model_grader_token_usage_per_model).toEqual({});
  });

  it('should flag output_json of a non-JSON sample as sample_parse_error', async () => {
    const response = await runGrader({
      grader: {
        type: 'string_check',
        name: 's',
        input: '{{sample.output_json.answer}}',
        reference: '1',
        operation: 'eq',
      },
      model_sample: 'plain text',
    });
    expect(response.reward).toBe(0);
    expect(response.metadata.errors.sample_parse_error).toBe(true);
  });

  it('should throw GraderConfigError for an invalid grader or item', async () => {
    await expect(
      runGrader({ grader: { type: 'python', name: 'p', source: 'x' }, model_sample: 'a' }),
    ).rejects.toThrow(GraderConfigError);
    await expect(
      runGrader({
        grader: { type: 'string_check', name: 's', input: 'a', reference: 'a', operation: 'eq' },
        model_sample: 'a',
        item: [1],
      }),
    ).rejects.toMatchObject({ param: 'item' });
  });

  it('should echo a valid grader and reject a javascript source that does not compile', async () => {
    const grader = {
      type: 'string_check' as const,
      name: 's',
      input: 'a',
      reference: 'a',
      operation: 'eq' as const,
    };
    expect(await validateGraderRequest({ grader })).toEqual({ grader });
    await expect(
      validateGraderRequest({
        grader: { type: 'javascript', name: 'j', source: 'function grade( { return 1 }' },
      }),
    ).rejects.toMatchObject({ param: 'grader.source' });
  });

  it('should accept the requests the SDK builds', () => {
    // Type-level check: the SDK's own params type is accepted by runGrader.
    const params: OpenAI.FineTuning.Alpha.GraderRunParams = {
      grader: {
        type: 'string_check',
        name: 's',
        input: '{{sample.output_text}}',
        reference: 'x',
        operation: 'like',
      },
      model_sample: 'xx',
    };
    return expect(runGrader(params).then((r) => r.reward)).resolves.toBe(1);
  });
});
