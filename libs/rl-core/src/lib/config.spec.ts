import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { rewardScalings, stdModes } from './advantages';
import { lossAggregations } from './aggregation';
import {
  BUILTIN_NAMES,
  checkRlConfig,
  GRPO_DEFAULTS,
  GRPO_LAMBDA_DEFAULTS,
  RL_CONFIG_OPTIONS,
  RlConfig,
  RlConfigError,
  rlConfigOptionsTable,
} from './config';
import { traceStyles } from './credit';
import { advantageEstimators } from './estimators';
import { createRlConfig, rlConfigProblems, validateRlConfig } from './rl-config';
import { policyVariants } from './variants';

describe('RL config', () => {
  it('should ship valid GRPO-λ and GRPO defaults as the spec states them', () => {
    expect(rlConfigProblems(GRPO_LAMBDA_DEFAULTS)).toEqual([]);
    expect(rlConfigProblems(GRPO_DEFAULTS)).toEqual([]);
    expect(GRPO_LAMBDA_DEFAULTS).toMatchObject({
      lambda: 0.99,
      gamma: 1,
      advantageClampMin: -0.1,
      traceStyle: 'both',
      variant: 'eps_trace',
    });
    expect(GRPO_DEFAULTS).toMatchObject({ estimator: 'grpo', advantageClampMin: null });
  });

  it('should document every option, in docs/rl-core.md as in the code (npm run docs:tables)', () => {
    expect(RL_CONFIG_OPTIONS.map((o) => o.key).sort()).toEqual(Object.keys(GRPO_LAMBDA_DEFAULTS).sort());
    const docs = readFileSync(join(__dirname, '../../../../docs/rl-core.md'), 'utf8');
    const block = /<!-- table: rl-core\.options -->([\s\S]*?)<!-- \/table -->/.exec(docs)?.[1] ?? '';
    // Cells, whitespace-normalised: prettier pads the columns.
    const rows = (text: string): string[] =>
      text
        .split('\n')
        .filter((line) => line.startsWith('|') && !/^\|[\s|:-]+\|$/.test(line))
        .map((line) =>
          line
            .split('|')
            .map((cell) => cell.trim().replace(/\s+/g, ' '))
            .join('|'),
        );
    expect(rows(block)).toEqual(rows(rlConfigOptionsTable()));
  });

  it.each<[Partial<RlConfig>, RegExp]>([
    [{ lambda: 1.01 }, /lambda = 1.01 must lie in \[0, 1\]/],
    [{ gamma: -0.1 }, /gamma = -0.1 must lie in \[0, 1\]/],
    [{ groupSize: 1 }, /groupSize = 1 must be an integer ≥ 2/],
    [{ epsilon: 0 }, /epsilon = 0 must be > 0/],
    [{ epsilon: 0.2, epsilonHigh: 0.1 }, /epsilonHigh = 0.1 must be finite and ≥ epsilon/],
    [{ beta: -1 }, /beta = -1 must be ≥ 0/],
    [{ advEps: 0 }, /advEps = 0 must be > 0/],
    [{ traceFloor: 2 }, /traceFloor = 2 must lie in \[0, 1\]/],
    [{ advantageClampMin: 0.5 }, /advantageClampMin = 0.5 is > 0/],
    [{ maxCompletionLength: 0 }, /maxCompletionLength = 0/],
    [
      { traceStyle: 'old' as RlConfig['traceStyle'] },
      /traceStyle 'old' is unknown; use one of: recent, both/,
    ],
    [
      { lossAggregation: 'sum' as RlConfig['lossAggregation'] },
      /use one of: seq-mean-token-mean, token-mean, seq-mean-token-sum-norm/,
    ],
  ])('should reject %j saying why and what to do', (overrides, message) => {
    expect(() => validateRlConfig({ ...GRPO_LAMBDA_DEFAULTS, ...overrides })).toThrow(message);
  });

  it('should report every problem at once', () => {
    try {
      validateRlConfig({ ...GRPO_LAMBDA_DEFAULTS, lambda: 2, beta: -1 });
      throw new Error('expected a throw');
    } catch (error) {
      expect(error).toBeInstanceOf(RlConfigError);
      expect((error as RlConfigError).problems).toHaveLength(2);
    }
  });

  it('should move epsilonHigh with epsilon unless it is given', () => {
    expect(createRlConfig({ epsilon: 0.3 }).epsilonHigh).toBe(0.3);
    expect(createRlConfig({ epsilon: 0.2, epsilonHigh: 0.28 }).epsilonHigh).toBe(0.28);
    expect(createRlConfig({}, GRPO_DEFAULTS).estimator).toBe('grpo');
  });

  it('should name the key at fault in every problem', () => {
    const { problems } = checkRlConfig({ epsilon: 0.3, epsilonHigh: 0.25, lambda: 2 });
    expect(problems.map((p) => p.key)).toEqual(['lambda', 'epsilonHigh']);
    expect(problems[1].message).toMatch(/epsilonHigh = 0.25 must be finite and ≥ epsilon = 0.3/);
  });

  it('should validate without the registries exactly as with them (the built-in names are the registered ones)', () => {
    expect(BUILTIN_NAMES).toEqual({
      estimator: advantageEstimators.names(),
      scaleRewards: rewardScalings.names(),
      stdMode: stdModes.names(),
      traceStyle: traceStyles.names(),
      variant: policyVariants.names(),
      lossAggregation: lossAggregations.names(),
    });
    const bad = { ...GRPO_LAMBDA_DEFAULTS, traceStyle: 'old' as RlConfig['traceStyle'], beta: -1 };
    expect(checkRlConfig(bad).problems).toEqual(rlConfigProblems(bad));
  });

  it('should keep base values for undefined overrides but take null as a value', () => {
    expect(createRlConfig({ lambda: undefined, epsilonHigh: undefined }).lambda).toBe(0.99);
    expect(createRlConfig({ advantageClampMin: null }).advantageClampMin).toBeNull();
  });
});
