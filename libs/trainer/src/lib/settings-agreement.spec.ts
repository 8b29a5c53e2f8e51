import { resolveAlgorithm, rlSettings } from '@tracetune/contracts';
import { GRPO_DEFAULTS, GRPO_LAMBDA_DEFAULTS } from '@tracetune/rl-core';

import { algorithm } from '../../test/helpers';
import { TrainingError } from './contract';
import { rlConfigFor } from './rl';

describe("a job's settings and rl-core's config", () => {
  it("should have one set of defaults: a job's defaults build exactly rl-core's presets", () => {
    expect(rlConfigFor(resolveAlgorithm(undefined, 4), { compute_multiplier: 1 })).toEqual(
      GRPO_LAMBDA_DEFAULTS,
    );
    expect(rlConfigFor(resolveAlgorithm({ name: 'grpo' }, 4), { compute_multiplier: 1 })).toEqual(
      GRPO_DEFAULTS,
    );
    // Every key a job sets takes its value from the job (rl-core's preset only fills the others).
    const custom = resolveAlgorithm({ lambda: 0.5, beta: 0.04, max_completion_tokens: 256 }, 4);
    expect(rlConfigFor(custom, { compute_multiplier: 2 })).toMatchObject(
      rlSettings(custom, { compute_multiplier: 2 }),
    );
  });

  it('should refuse a config rl-core refuses as invalid_config naming the job field', () => {
    const error = (() => {
      try {
        return rlConfigFor(algorithm({ epsilon: 0.3, epsilon_high: 0.25 }), { compute_multiplier: 1 });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(TrainingError);
    expect(error).toMatchObject({
      code: 'invalid_config',
      param: 'method.reinforcement.algorithm.epsilon_high',
    });
  });
});
