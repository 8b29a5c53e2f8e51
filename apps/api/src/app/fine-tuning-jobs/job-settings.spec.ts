import type { AlgorithmInput, OpenAIErrorBody } from '@tracetune/contracts';

import { ApiError } from '../common/api-error';
import { requestedMethod, resolveJobSettings } from './job-settings';

const grader = {
  type: 'string_check',
  name: 'x',
  input: '{{sample.output_text}}',
  reference: 'a',
  operation: 'eq',
};

/** The api's answer to a reinforcement job with `algorithm` (given past the request schema, as a bug might). */
function refusal(algorithm: Record<string, unknown>): OpenAIErrorBody['error'] | null {
  const method = requestedMethod({
    model: 'tt-nano',
    training_file: 'file-1',
    method: { type: 'reinforcement', reinforcement: { grader, algorithm: algorithm as AlgorithmInput } },
  });
  try {
    resolveJobSettings(method, 8, undefined);
    return null;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return (e.getResponse() as OpenAIErrorBody).error;
  }
}

describe("a job's settings at the edge", () => {
  // Each is refused by rl-core's own validation of the config the trainer would build; the request schema refuses
  // most of them first, so they are passed here directly: every rl-core rule must map to the job field it checks.
  it.each<[Record<string, unknown>, string]>([
    [{ lambda: 1.5 }, 'lambda'],
    [{ gamma: -1 }, 'gamma'],
    [{ epsilon: 0 }, 'epsilon'],
    [{ epsilon: 0.3, epsilon_high: 0.25 }, 'epsilon_high'],
    [{ beta: -1 }, 'beta'],
    [{ advantage_clamp_min: 0.5 }, 'advantage_clamp_min'],
    [{ max_completion_tokens: 0 }, 'max_completion_tokens'],
    [{ name: 'ppo' }, 'name'],
    [{ trace_style: 'old' }, 'trace_style'],
    [{ variant: 'eps' }, 'variant'],
    [{ loss_aggregation: 'sum' }, 'loss_aggregation'],
    [{ scale_rewards: 'max' }, 'scale_rewards'],
  ])('should refuse %j with a 400 naming method.reinforcement.algorithm.%s', (algorithm, field) => {
    const error = refusal(algorithm);
    expect(error).toMatchObject({
      type: 'invalid_request_error',
      param: `method.reinforcement.algorithm.${field}`,
    });
    expect(error?.message).toMatch(new RegExp(`^Invalid method\\.reinforcement\\.algorithm\\.${field}: `));
  });

  it('should accept and resolve a valid algorithm', () => {
    expect(refusal({ epsilon: 0.2, epsilon_high: 0.28 })).toBeNull();
  });

  it('should accept dpo and refuse a reinforcement method without its object before looking at files', () => {
    expect(requestedMethod({ model: 'm', training_file: 'f', method: { type: 'dpo' } })).toEqual({
      type: 'dpo',
    });
    const refused = (() => {
      try {
        return requestedMethod({ model: 'm', training_file: 'f', method: { type: 'reinforcement' } });
      } catch (e) {
        return (e as ApiError).getResponse() as OpenAIErrorBody;
      }
    })();
    expect(refused).toMatchObject({ error: { param: 'method.reinforcement' } });
  });
});
