import * as tf from '@tensorflow/tfjs-core';

import { expectAllClose, expectClose, maxAbs, seededRandom, useCpuBackend } from '../test-utils/numeric';
import { GRPO_LAMBDA_DEFAULTS, RlConfig } from './config';
import { computePolicyLoss, PolicyLossBatch } from './policy-loss';
import { referenceSequenceObjective } from './reference';
import { createRlConfig } from './rl-config';
import { sequenceObjective, SequenceObjectiveConfig } from './sequence-objective';

beforeAll(useCpuBackend);

/** These specs exercise the KL term too: GRPO's β = 0.04 on top of the library's defaults (whose β is 0). */
const klConfig = (overrides: Partial<RlConfig> = {}): RlConfig =>
  createRlConfig(overrides, { ...GRPO_LAMBDA_DEFAULTS, beta: 0.04 });

interface Rows {
  logpNew: number[][];
  logpOld: number[][];
  logpRef: number[][];
  lengths: number[];
  groupIds: number[];
  rewards: number[];
}

/** B = G·groups sequences with random lengths ≤ T; logπ_θ near logπ_old so some ratios clip, some not. */
function randomRows(seed: number, groups: number, groupSize: number, T: number, fullLength = false): Rows {
  const rand = seededRandom(seed);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const rows: Rows = { logpNew: [], logpOld: [], logpRef: [], lengths: [], groupIds: [], rewards: [] };
  for (let g = 0; g < groups; g++) {
    for (let i = 0; i < groupSize; i++) {
      const length = fullLength ? T : 1 + Math.floor(rand() * T);
      const old = Array.from({ length }, () => -0.05 - 3 * rand());
      rows.logpOld.push(old);
      rows.logpNew.push(old.map((v) => v + 0.03 * gauss()));
      rows.logpRef.push(old.map((v) => v + 0.05 * gauss()));
      rows.lengths.push(length);
      rows.groupIds.push(g);
      rows.rewards.push(g % 2 === 0 ? Math.round(rand()) : Math.round(rand() * 4) / 4);
    }
  }
  return rows;
}

function padded(rows: number[][], T: number, fill: number): tf.Tensor2D {
  return tf.tensor2d(rows.map((r) => [...r, ...new Array<number>(T - r.length).fill(fill)]));
}

function batchOf(rows: Rows, T: number, fill = 0): PolicyLossBatch {
  return {
    logpNew: padded(rows.logpNew, T, fill),
    logpOld: padded(rows.logpOld, T, fill),
    logpRef: padded(rows.logpRef, T, fill),
    completionMask: padded(
      rows.lengths.map((l) => new Array<number>(l).fill(1)),
      T,
      0,
    ),
    groupIds: rows.groupIds,
    rewards: rows.rewards,
  };
}

/** Loss and ∂loss/∂logpNew of the batched path, gradient by autograd. */
function batchedLossAndGrad(batch: PolicyLossBatch, config: RlConfig): { loss: number; grad: number[][] } {
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
    const result = computePolicyLoss({ ...batch, logpNew: x as tf.Tensor2D }, config);
    result.dispose();
    return result.loss;
  })(batch.logpNew);
  const out = { loss: value.dataSync()[0], grad: grad.arraySync() as number[][] };
  value.dispose();
  grad.dispose();
  return out;
}

function contractConfigOf(config: RlConfig): SequenceObjectiveConfig {
  return {
    estimator: config.estimator,
    gamma: config.gamma,
    lambda: config.lambda,
    traceStyle: config.traceStyle,
    variant: config.variant,
    clipEps: config.epsilon,
    beta: config.beta,
    advEps: config.advEps,
    stdMode: config.stdMode,
    advantageClampMin: config.advantageClampMin,
    traceFloor: config.traceFloor,
  };
}

/** Per-sequence contract input of row i (its group's rewards and its index in the group). */
function sequenceInput(rows: Rows, i: number, config: RlConfig) {
  const members = rows.groupIds.map((g, j) => (g === rows.groupIds[i] ? j : -1)).filter((j) => j >= 0);
  return {
    logpNew: rows.logpNew[i],
    logpOld: rows.logpOld[i],
    logpRef: rows.logpRef[i],
    groupRewards: members.map((j) => rows.rewards[j]),
    index: members.indexOf(i),
    config: contractConfigOf(config),
  };
}

const CONFIGS: [string, RlConfig][] = [
  ['recent/eps_trace', klConfig({ traceStyle: 'recent' })],
  ['both/eps_trace', klConfig({ traceStyle: 'both' })],
  [
    'recent/eps_weight λ=0.9 γ=0.95',
    klConfig({ traceStyle: 'recent', variant: 'eps_weight', lambda: 0.9, gamma: 0.95 }),
  ],
  [
    'both/eps_weight floor',
    klConfig({ traceStyle: 'both', variant: 'eps_weight', traceFloor: 0.2, lambda: 0.9 }),
  ],
  [
    'both/eps_trace floor λ=0.8',
    klConfig({ traceStyle: 'both', traceFloor: 0.05, lambda: 0.8, advantageClampMin: null }),
  ],
  [
    'recent/eps_trace floor',
    klConfig({ traceStyle: 'recent', traceFloor: 0.1, lambda: 0.9, stdMode: 'population' }),
  ],
  ['grpo', klConfig({ estimator: 'grpo', advantageClampMin: null })],
];

describe('computePolicyLoss against the float64 reference', () => {
  // (groups, G, T): small, odd, longer than one scan block, and two levels of blocks.
  const SHAPES: [number, number, number][] = [
    [2, 2, 9],
    [2, 3, 70],
    [3, 4, 150],
  ];
  describe.each(CONFIGS)('%s', (_name, config) => {
    it.each(SHAPES)(
      'should match mean_i L_i and its gradient for %i groups of %i, T ≤ %i (padded)',
      (groups, G, T) => {
        const rows = randomRows(1000 * groups + 10 * G + T, groups, G, T);
        const B = rows.lengths.length;
        const { loss, grad } = batchedLossAndGrad(batchOf(rows, T), config);
        let expectedLoss = 0;
        rows.lengths.forEach((length, i) => {
          const reference = referenceSequenceObjective(sequenceInput(rows, i, config));
          expectedLoss += reference.loss / B;
          // seq-mean-token-mean: ∂(mean_i L_i)/∂new_i = (1/B)·∂L_i/∂new_i; padding gets no gradient.
          const expected = [
            ...reference.gradLogpNew.map((g) => g / B),
            ...new Array<number>(T - length).fill(0),
          ];
          expectAllClose(grad[i], expected, 0, 1e-4 * Math.max(maxAbs(expected), 1e-6), `row ${i} gradient`);
        });
        expectClose(loss, expectedLoss, 1e-4, 1e-6, 'loss');
      },
    );
  });

  it.each([
    ['both', 'eps_trace'],
    ['recent', 'eps_trace'],
    ['both', 'eps_weight'],
  ] as const)(
    'should stay exact at T = 2048 (%s/%s, float32 scans vs float64 O(T²) loops)',
    (traceStyle, variant) => {
      const T = 2048;
      const config = klConfig({ traceStyle, variant });
      const rows = randomRows(2048, 1, 2, T, true);
      const { grad } = batchedLossAndGrad(batchOf(rows, T), config);
      // Row 0 only (the O(T²) float64 reference is the slow part); row 1 is there to make a group.
      const reference = referenceSequenceObjective(sequenceInput(rows, 0, config));
      const expected = reference.gradLogpNew.map((g) => g / 2);
      expectAllClose(grad[0], expected, 0, 1e-4 * maxAbs(expected), 'row 0 gradient');
      expectClose(
        sequenceObjective(sequenceInput(rows, 0, config)).loss,
        reference.loss,
        1e-4,
        0,
        'row 0 loss',
      );
    },
  );
});

describe('computePolicyLoss with padding', () => {
  it('should give every sequence of a padded batch the loss and gradient of the per-sequence contract', () => {
    const config = klConfig({ traceStyle: 'both', lossAggregation: 'token-mean' });
    const rows = randomRows(7, 2, 3, 40);
    const T = 40;
    // Garbage (NaN) in the padding must not leak into the result.
    const { grad } = batchedLossAndGrad(batchOf(rows, T, Number.NaN), config);
    const tokens = rows.lengths.reduce((s, l) => s + l, 0);
    rows.lengths.forEach((length, i) => {
      const single = sequenceObjective(sequenceInput(rows, i, config));
      // token-mean: ∂loss/∂new_i = (|o_i| / Σ|o|)·∂L_i/∂new_i.
      const expected = [
        ...single.gradLogpNew.map((g) => (g * length) / tokens),
        ...new Array<number>(T - length).fill(0),
      ];
      expectAllClose(grad[i], expected, 0, 1e-5 * Math.max(maxAbs(expected), 1e-6), `row ${i}`);
    });
  });
});

describe('loss aggregations', () => {
  // Two sequences of lengths 1 and 3, one group, rewards [1, 0]; β = 0, on-policy, grpo: obj_t = Ã_i.
  // Ã = ±0.5/(sqrt(0.5) + 1e-4) = ±a. Sums of obj: seq 0: a, seq 1: −3a.
  const a = 0.5 / (Math.sqrt(0.5) + 1e-4);
  const batch = (): PolicyLossBatch => ({
    logpNew: tf.tensor2d([
      [-1, 0, 0],
      [-1, -1, -1],
    ]),
    logpOld: tf.tensor2d([
      [-1, 0, 0],
      [-1, -1, -1],
    ]),
    logpRef: null,
    completionMask: tf.tensor2d([
      [1, 0, 0],
      [1, 1, 1],
    ]),
    groupIds: [0, 0],
    rewards: [1, 0],
  });
  it.each([
    // mean_i −(1/|o_i|)Σ obj = −(a/1 − 3a/3)/2 = 0.
    ['seq-mean-token-mean', 0],
    // −Σ obj / Σ|o| = −(a − 3a)/4 = a/2.
    ['token-mean', a / 2],
    // −Σ obj / (B·maxCompletionLength) = −(a − 3a)/(2·4) = a/4.
    ['seq-mean-token-sum-norm', a / 4],
  ] as const)('should aggregate %s as derived', async (lossAggregation, expected) => {
    const config = klConfig({
      ...GRPO_LAMBDA_DEFAULTS,
      estimator: 'grpo',
      beta: 0,
      advantageClampMin: null,
      lossAggregation,
      maxCompletionLength: 4,
    });
    const result = computePolicyLoss(batch(), config);
    expectClose(result.loss.dataSync()[0], expected, 1e-6, 1e-7);
    const stats = await result.readStats();
    expectClose(stats.loss, expected, 1e-6, 1e-7);
  });

  it('should refuse completions longer than maxCompletionLength for the Dr. GRPO normaliser', () => {
    const config = klConfig({
      lossAggregation: 'seq-mean-token-sum-norm',
      maxCompletionLength: 2,
      beta: 0,
    });
    expect(() => computePolicyLoss(batch(), config)).toThrow(/maxCompletionLength/);
  });
});

describe('statistics and zero-std groups', () => {
  it('should report the derived statistics of a small batch', async () => {
    // Group 0: rewards [1, 0] → A = ±0.5/(sqrt(0.5)+1e-4) ≈ ±0.7070, clamp raises −0.707 to −0.1.
    // Group 1: rewards [1, 1] → zero std, skipped. d = 0.3 on row 0 (ρ = e^0.3 > 1.2, A > 0: clipped high),
    // −0.3 on row 1 (ρ = e^−0.3 < 0.8, A < 0: clipped low); rows 2, 3 on-policy.
    const config = klConfig({
      estimator: 'grpo',
      skipZeroStdGroups: true,
      beta: 0.04,
      advantageClampMin: -0.1,
    });
    const result = computePolicyLoss(
      {
        logpNew: tf.tensor2d([
          [-0.7, -1],
          [-1.3, -1],
          [-1, -1],
          [-1, -1],
        ]),
        logpOld: tf.tensor2d([
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
        ]),
        logpRef: tf.tensor2d([
          [-1, -1],
          [-1, -1],
          [-1, -1],
          [-1, -1],
        ]),
        completionMask: tf.tensor2d([
          [1, 0],
          [1, 0],
          [1, 1],
          [1, 1],
        ]),
        groupIds: ['p0', 'p0', 'p1', 'p1'],
        rewards: [1, 0, 1, 1],
      },
      config,
    );
    const stats = await result.readStats();
    const a = 0.5 / (Math.sqrt(0.5) + 1e-4);
    // 6 tokens: one clipped high, one clipped low.
    expect(stats.tokens).toBe(6);
    expectClose(stats.clipFractionHigh, 1 / 6, 1e-6);
    expectClose(stats.clipFractionLow, 1 / 6, 1e-6);
    expect(stats.zeroStdGroupFraction).toBe(0.5);
    expect(stats.skippedSequences).toBe(2);
    expectClose(stats.advantageMean, (a - 0.1) / 4, 1e-12);
    expect(stats.advantageClampedFraction).toBe(0.25);
    // KL per token: x = ref − new = −0.3 and 0.3 on the first tokens, 0 elsewhere.
    const kl = (x: number): number => Math.exp(x) - x - 1;
    expectClose(stats.klMean!, (kl(-0.3) + kl(0.3)) / 6, 1e-5);
    expectClose(stats.logRatioAbsMean, 0.6 / 6, 1e-5);
    expect(stats.traceWeightMean).toBe(1);
    // Loss over the two included 1-token rows: −mean(1.2a − β·kl(−0.3), 0.8·(−0.1) − β·kl(0.3)).
    expectClose(stats.loss, -(1.2 * a - 0.04 * kl(-0.3) + -0.08 - 0.04 * kl(0.3)) / 2, 1e-5);
    await expect(result.readStats()).rejects.toThrow(/already/);
  });

  it('should give loss 0 and no gradient when every group is skipped', () => {
    // Both groups have equal rewards: with skipZeroStdGroups no sequence is left, every coefficient is 0.
    const config = klConfig({ skipZeroStdGroups: true, beta: 0 });
    const rows = randomRows(11, 2, 2, 6);
    rows.rewards = [1, 1, 0.5, 0.5];
    const { loss, grad } = batchedLossAndGrad(batchOf(rows, 6), config);
    expect(loss === 0).toBe(true);
    expect(grad.flat().every((g) => g === 0)).toBe(true);
  });

  it('should reject masks with holes, empty rows and a positive beta without reference', () => {
    const config = klConfig();
    const base: PolicyLossBatch = {
      logpNew: tf.zeros([2, 3]),
      logpOld: tf.zeros([2, 3]),
      logpRef: null,
      completionMask: tf.tensor2d([
        [1, 0, 1],
        [1, 1, 1],
      ]),
      groupIds: [0, 0],
      rewards: [1, 0],
    };
    expect(() => computePolicyLoss(base, config)).toThrow(/right-padded/);
    expect(() =>
      computePolicyLoss(
        {
          ...base,
          completionMask: tf.tensor2d([
            [0, 0, 0],
            [1, 1, 1],
          ]),
        },
        config,
      ),
    ).toThrow(/empty/);
    expect(() => computePolicyLoss({ ...base, completionMask: tf.ones([2, 3]) }, config)).toThrow(/logpRef/);
    expect(() => computePolicyLoss({ ...base, rewards: [1] }, config)).toThrow(/one entry per row/);
  });

  it('should keep the statistics readable after the gradient closure has been tidied', async () => {
    const config = klConfig({ traceStyle: 'recent' });
    const batch = batchOf(randomRows(5, 2, 2, 12), 12);
    let result: ReturnType<typeof computePolicyLoss> | undefined;
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => {
      result = computePolicyLoss({ ...batch, logpNew: x as tf.Tensor2D }, config);
      return result.loss;
    })(batch.logpNew);
    const stats = await result!.readStats();
    expectClose(stats.loss, value.dataSync()[0], 1e-6, 1e-7);
    expect(stats.traceWeightMean).toBeGreaterThan(1);
    tf.dispose([value, grad]);
  });

  it('should not leak tensors', () => {
    const config = klConfig({ traceStyle: 'both', traceFloor: 0.1, variant: 'eps_weight' });
    const rows = randomRows(3, 2, 2, 100);
    const batch = batchOf(rows, 100);
    const before = tf.memory().numTensors;
    const result = computePolicyLoss(batch, config);
    result.loss.dispose();
    result.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
