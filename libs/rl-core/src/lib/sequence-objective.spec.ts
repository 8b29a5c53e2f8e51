import {
  centralDifferences,
  expectAllClose,
  expectClose,
  maxAbs,
  useCpuBackend,
} from '../test-utils/numeric';
import { referenceSequenceObjective } from './reference';
import {
  sequenceObjective,
  SequenceObjectiveConfig,
  SequenceObjectiveInput,
  SequenceObjectiveOutput,
} from './sequence-objective';

beforeAll(useCpuBackend);

// docs/algorithm.md §4, common inputs.
const SPEC_CONFIG: SequenceObjectiveConfig = {
  estimator: 'grpo_lambda',
  gamma: 1,
  lambda: 0.99,
  traceStyle: 'recent',
  variant: 'eps_trace',
  clipEps: 0.2,
  beta: 0.04,
  advEps: 1e-4,
  stdMode: 'sample',
  advantageClampMin: -0.1,
  traceFloor: 0,
};
const SPEC_INPUT = {
  logpOld: [-0.5, -1.2, -0.3, -2.0, -0.1],
  logpNew: [-0.45, -1.23, -0.26, -1.98, -0.11],
  logpRef: [-0.55, -1.1, -0.35, -2.1, -0.12],
  groupRewards: [1, 0, 0, 1],
};

interface VectorRow {
  estimator: 'grpo' | 'grpo_lambda';
  style: 'recent' | 'both';
  variant: 'eps_trace' | 'eps_weight';
  loss: number;
  grad: number[];
}

// The tables of §4 verbatim.
const V1: VectorRow[] = [
  {
    estimator: 'grpo_lambda',
    style: 'recent',
    variant: 'eps_trace',
    loss: -0.9149019669,
    grad: [-0.8960465267, -0.723084228, -0.5502088846, -0.3699454187, -0.18526707],
  },
  {
    estimator: 'grpo_lambda',
    style: 'recent',
    variant: 'eps_weight',
    loss: -2.612630989,
    grad: [-0.891484261, -0.6633222172, -0.5346496847, -0.3506755384, -0.1713723637],
  },
  {
    estimator: 'grpo_lambda',
    style: 'both',
    variant: 'eps_trace',
    loss: -0.9156517321,
    grad: [-0.9150869695, -0.7293337262, -0.5508630175, -0.3704213831, -0.1855228709],
  },
  {
    estimator: 'grpo_lambda',
    style: 'both',
    variant: 'eps_weight',
    loss: -2.635629895,
    grad: [-0.9095085117, -0.6682968721, -0.5346496847, -0.3506755384, -0.1713723637],
  },
  {
    estimator: 'grpo',
    style: 'recent',
    variant: 'eps_trace',
    loss: -0.8782823282,
    grad: [-0.1812926618, -0.1691676158, -0.1795539448, -0.1757688182, -0.1713723637],
  },
];
const V2: VectorRow[] = [
  {
    estimator: 'grpo_lambda',
    style: 'recent',
    variant: 'eps_trace',
    loss: 0.1058813137,
    grad: [0.1043336849, 0.08227014297, 0.06431172496, 0.04373412935, 0.02148529838],
  },
  {
    estimator: 'grpo_lambda',
    style: 'both',
    variant: 'eps_trace',
    loss: 0.1059679041,
    grad: [0.1065326667, 0.08299189786, 0.0643872708, 0.0437890985, 0.02151484084],
  },
  {
    estimator: 'grpo_lambda',
    style: 'recent',
    variant: 'eps_weight',
    loss: 0.3019521298,
    grad: [0.1038067886, 0.07536822513, 0.06251479213, 0.04150864984, 0.019880598],
  },
  {
    estimator: 'grpo',
    style: 'recent',
    variant: 'eps_trace',
    loss: 0.1016521096,
    grad: [0.02178672258, 0.0182982836, 0.021504766, 0.02130866331, 0.019880598],
  },
];

function specInput(row: VectorRow, index: number): SequenceObjectiveInput {
  return {
    ...SPEC_INPUT,
    index,
    config: { ...SPEC_CONFIG, estimator: row.estimator, traceStyle: row.style, variant: row.variant },
  };
}

// The table has 10 significant digits: a relative 1e-9 (plus 1e-10 absolute for the rounding of the last digit).
function expectMatchesTable(out: SequenceObjectiveOutput, row: VectorRow, rel: number, abs: number): void {
  expectClose(out.loss, row.loss, rel, abs, 'loss');
  expectAllClose(out.gradLogpNew, row.grad, rel, abs, 'gradLogpNew');
}

const FLOAT32 = 1e-4;

describe('docs/algorithm.md §4 test vectors', () => {
  describe('V1 (index 0, correct answer)', () => {
    it('should compute advantage 0.8658754298 = 0.5 / (sqrt(1/3) + 1e-4)', () => {
      // mean R = 0.5, sample std = sqrt(4·0.25/3) = sqrt(1/3), A = 0.5 / (0.5773502692 + 1e-4).
      const out = referenceSequenceObjective(specInput(V1[0], 0));
      expectClose(out.advantageRaw, 0.5 / (Math.sqrt(1 / 3) + 1e-4), 1e-15);
      expectClose(out.advantage, 0.8658754298, 1e-9);
    });

    it.each(V1.map((row) => [`${row.estimator}/${row.style}/${row.variant}`, row] as const))(
      'should match the table for %s in the float64 reference and in tfjs',
      (_name, row) => {
        expectMatchesTable(referenceSequenceObjective(specInput(row, 0)), row, 1e-9, 1e-10);
        expectMatchesTable(sequenceObjective(specInput(row, 0)), row, FLOAT32, 0);
      },
    );

    it('should give the traces and weights listed under the table', () => {
      const recent = referenceSequenceObjective(specInput(V1[0], 0));
      expectAllClose(
        recent.tracedLogRatio!,
        [0.05, 0.0195, 0.059305, 0.07871195, 0.0679248305],
        1e-12,
        1e-15,
      );
      expectAllClose(recent.weights, [4.90099501, 3.940399, 2.9701, 1.99, 1], 1e-15);
      const both = referenceSequenceObjective(specInput(V1[2], 0));
      expectAllClose(both.tracedLogRatio!, [0.05, 0.02, 0.0603, 0.0799, 0.069304], 1e-12, 1e-15);
      expectAllClose(both.weights, [5, 3.97, 2.9701, 1.99, 1], 1e-15);
      const tfRecent = sequenceObjective(specInput(V1[0], 0));
      expectAllClose(tfRecent.tracedLogRatio!, recent.tracedLogRatio!, FLOAT32);
      expectAllClose(tfRecent.weights, recent.weights, 1e-15);
      expectAllClose(sequenceObjective(specInput(V1[2], 0)).tracedLogRatio!, both.tracedLogRatio!, FLOAT32);
    });

    it('should ignore the variant for grpo (identity credit makes both variants GRPO)', () => {
      const row = V1[4];
      for (const variant of ['eps_trace', 'eps_weight'] as const) {
        const input = {
          ...SPEC_INPUT,
          index: 0,
          config: { ...SPEC_CONFIG, estimator: 'grpo' as const, variant },
        };
        expectMatchesTable(referenceSequenceObjective(input), row, 1e-9, 1e-10);
        expectMatchesTable(sequenceObjective(input), row, FLOAT32, 0);
      }
    });

    it('should return all-1 weights and no traced log-ratio for grpo', () => {
      for (const fn of [referenceSequenceObjective, sequenceObjective]) {
        const out = fn(specInput(V1[4], 0));
        expect(out.weights).toEqual([1, 1, 1, 1, 1]);
        expect(out.tracedLogRatio).toBeNull();
      }
    });
  });

  describe('V2 (index 1, wrong answer)', () => {
    it('should clamp the advantage −0.8658754298 to −0.1', () => {
      for (const fn of [referenceSequenceObjective, sequenceObjective]) {
        const out = fn(specInput(V2[0], 1));
        expectClose(out.advantageRaw, -0.8658754298, 1e-9);
        expect(out.advantage).toBe(-0.1);
      }
    });

    it.each(V2.map((row) => [`${row.estimator}/${row.style}/${row.variant}`, row] as const))(
      'should match the table for %s in the float64 reference and in tfjs',
      (_name, row) => {
        expectMatchesTable(referenceSequenceObjective(specInput(row, 1)), row, 1e-9, 1e-10);
        expectMatchesTable(sequenceObjective(specInput(row, 1)), row, FLOAT32, 0);
      },
    );
  });
});

/** The reference's gradient against its own central differences, and tfjs against the reference. */
function checkCase(input: SequenceObjectiveInput): SequenceObjectiveOutput {
  const reference = referenceSequenceObjective(input);
  const numeric = centralDifferences(
    (x) => referenceSequenceObjective({ ...input, logpNew: x }).loss,
    input.logpNew,
  );
  expectAllClose(reference.gradLogpNew, numeric, 1e-6, 1e-9, 'finite differences');
  const tensor = sequenceObjective(input);
  const scale = Math.max(maxAbs(reference.gradLogpNew), 1e-6);
  expectClose(tensor.loss, reference.loss, FLOAT32, 1e-7, 'tfjs loss');
  expectAllClose(tensor.gradLogpNew, reference.gradLogpNew, 0, FLOAT32 * scale, 'tfjs gradient');
  expectAllClose(tensor.weights, reference.weights, 1e-12, 0, 'tfjs weights');
  return reference;
}

const BASE: SequenceObjectiveConfig = { ...SPEC_CONFIG, beta: 0, advantageClampMin: null };

describe('further hand-derived vectors (checked by finite differences)', () => {
  it('should zero the gradient of a token whose ratio is clipped (clipping active, λ < 1)', () => {
    // c = γλ = 0.5, d = [0.3, 0]. rewards [1, 0], population std 0.5 → A = 0.5 / 0.5001.
    // z0 = 0.3: ρ0 = e^0.3 = 1.3499 > 1.2 and A > 0, so obj0 = 1.2·A (clipped, no gradient).
    // z1 = 0 + 0.5·0.3 = 0.15: ρ1 = e^0.15 = 1.1618 < 1.2, obj1 = ρ1·A, ∂z1/∂new = [0.5, 1].
    // L = −(1.2A + ρ1A)/2, ∇L = −(1/2)·[0.5·ρ1·A, ρ1·A].
    const A = 0.5 / 0.5001;
    const rho1 = Math.exp(0.15);
    const out = checkCase({
      logpOld: [-1, -2],
      logpNew: [-0.7, -2],
      logpRef: null,
      groupRewards: [1, 0],
      index: 0,
      config: { ...BASE, lambda: 0.5, stdMode: 'population' },
    });
    expectClose(out.advantage, A, 1e-15);
    expectAllClose(out.tracedLogRatio!, [0.3, 0.15], 1e-12);
    expectClose(out.loss, -(1.2 * A + rho1 * A) / 2, 1e-12);
    expectAllClose(out.gradLogpNew, [-0.25 * rho1 * A, -0.5 * rho1 * A], 1e-12);
  });

  it('should discount with γ < 1 in the both style and use graded rewards without clamp', () => {
    // c = 0.9·1; d = [0.1, −0.2, 0.05]. both: tr(t, l) = max(c^l, c^(t−l)).
    // z0 = 0.1; z1 = max(c, 1)·0.1 − 0.2 = −0.1; z2 = max(c², 1)·0.1 + max(c, c)·(−0.2) + 0.05 = 0.1 − 0.18 + 0.05 = −0.03.
    // W (both, T = 3): W0 = 1 + 2·c⁰ = 3, W1 = (1 + c) + 0 = 1.9, W2 = 1.
    // Rewards [0.2, 0.5, 0.9, 0.4], index 2: mean 0.5, Σ(R − 0.5)² = 0.26, sample std = sqrt(0.26/3),
    // A = 0.4 / (sqrt(0.26/3) + 1e-4) ≈ 1.3583; all |z| < 0.18 so nothing clips: L = −(A/3)·Σ e^(z_t).
    const A = 0.4 / (Math.sqrt(0.26 / 3) + 1e-4);
    const out = checkCase({
      logpOld: [-1, -1, -1],
      logpNew: [-0.9, -1.2, -0.95],
      logpRef: null,
      groupRewards: [0.2, 0.5, 0.9, 0.4],
      index: 2,
      config: { ...BASE, gamma: 0.9, lambda: 1, traceStyle: 'both' },
    });
    expectClose(out.advantage, A, 1e-12);
    expectAllClose(out.tracedLogRatio!, [0.1, -0.1, -0.03], 1e-12, 1e-15);
    expectAllClose(out.weights, [3, 1.9, 1], 1e-12);
    expectClose(out.loss, -(A / 3) * (Math.exp(0.1) + Math.exp(-0.1) + Math.exp(-0.03)), 1e-12);
  });

  it('should keep a negative advantage unclamped when the clamp is null', () => {
    // V2's inputs without clamp: Ã = A = −0.8658754298; recent ε-trace, β = 0.04 as in §4.
    const out = checkCase({ ...SPEC_INPUT, index: 1, config: { ...SPEC_CONFIG, advantageClampMin: null } });
    expectClose(out.advantage, -0.8658754298, 1e-9);
    expect(out.advantage).toBe(out.advantageRaw);
  });

  it('should floor trace weights at traceFloor', () => {
    // c = 0.5, floor 0.3: tr(l) = max(0.5^l, 0.3) = [1, 0.5, 0.3, 0.3] for l = 0..3 (0.25 < 0.3 is floored).
    // recent W_k = Σ_{l ≤ 3−k} tr(l): [2.1, 1.8, 1.5, 1]. d = [0.02, −0.01, 0.03, 0]:
    // z3 = 0.3·0.02 + 0.3·(−0.01) + 0.5·0.03 + 0 = 0.018.
    for (const variant of ['eps_trace', 'eps_weight'] as const) {
      const out = checkCase({
        logpOld: [-1, -1, -1, -1],
        logpNew: [-0.98, -1.01, -0.97, -1],
        logpRef: [-1, -1, -1, -1],
        groupRewards: [1, 0, 1],
        index: 0,
        config: { ...BASE, lambda: 0.5, traceFloor: 0.3, beta: 0.04, variant },
      });
      expectAllClose(out.weights, [2.1, 1.8, 1.5, 1], 1e-12);
      if (variant === 'eps_trace') expectClose(out.tracedLogRatio![3], 0.018, 1e-12);
    }
  });

  it('should reduce a 1-token completion to GRPO in every style', () => {
    // T = 1: z0 = d0 = 0.1 and W0 = 1 whatever c. Rewards [1, 0], sample std sqrt(0.5),
    // A = 0.5/(sqrt(0.5) + 1e-4); ρ = e^0.1 < 1.2: L = −e^0.1·A, ∇L = −e^0.1·A.
    const A = 0.5 / (Math.sqrt(0.5) + 1e-4);
    for (const traceStyle of ['recent', 'both'] as const) {
      for (const variant of ['eps_trace', 'eps_weight'] as const) {
        const out = checkCase({
          logpOld: [-1],
          logpNew: [-0.9],
          logpRef: null,
          groupRewards: [1, 0],
          index: 0,
          config: { ...BASE, traceStyle, variant },
        });
        expectClose(out.loss, -Math.exp(0.1) * A, 1e-12);
        expectAllClose(out.gradLogpNew, [-Math.exp(0.1) * A], 1e-12);
        expect(out.weights).toEqual([1]);
      }
    }
  });

  it('should leave only the KL term for a group whose rewards are all equal', () => {
    // Rewards [0.5, 0.5, 0.5]: A = 0, Ã = max(0, −0.1) = 0, so obj_t = −β·KL_t.
    // x = ref − new = [0.1, −0.2]: KL = e^x − x − 1; L = (β/2)·Σ KL, ∂L/∂new_t = (β/2)·(1 − e^(x_t)).
    const beta = 0.04;
    const kl = (x: number): number => Math.exp(x) - x - 1;
    const out = checkCase({
      logpOld: [-1, -2],
      logpNew: [-0.9, -2.1],
      logpRef: [-0.8, -2.3],
      groupRewards: [0.5, 0.5, 0.5],
      index: 1,
      config: { ...SPEC_CONFIG, stdMode: 'population', beta },
    });
    expect(out.advantageRaw).toBe(0);
    expect(out.advantage).toBe(0);
    expectClose(out.loss, (beta / 2) * (kl(0.1) + kl(-0.2)), 1e-12);
    expectAllClose(
      out.gradLogpNew,
      [(beta / 2) * (1 - Math.exp(0.1)), (beta / 2) * (1 - Math.exp(-0.2))],
      1e-12,
    );
  });

  it('should widen only the upper clip with clipEpsHigh (DAPO clip-higher)', () => {
    // d = [0.22]: ρ = e^0.22 = 1.246 > 1.2 would clip, but < 1 + 0.28, so it carries gradient −ρA.
    const input: SequenceObjectiveInput = {
      logpOld: [-1],
      logpNew: [-0.78],
      logpRef: null,
      groupRewards: [1, 0],
      index: 0,
      config: { ...BASE, clipEpsHigh: 0.28 },
    };
    const out = checkCase(input);
    expectAllClose(out.gradLogpNew, [-Math.exp(0.22) * out.advantage], 1e-12);
    // With ε_high = ε = 0.2 the same ratio is clipped: no gradient.
    expect(Math.abs(referenceSequenceObjective({ ...input, config: BASE }).gradLogpNew[0])).toBe(0);
  });

  it('should divide the policy term by the mean trace weight with normalizeTraceWeights', () => {
    // β = 0: the whole loss scales by 1/mean(W); V1 recent: mean W = (4.90099501 + 3.940399 + 2.9701 + 1.99 + 1)/5.
    const meanW = (4.90099501 + 3.940399 + 2.9701 + 1.99 + 1) / 5;
    const plain = referenceSequenceObjective({ ...SPEC_INPUT, index: 0, config: { ...BASE } });
    const out = checkCase({ ...SPEC_INPUT, index: 0, config: { ...BASE, normalizeTraceWeights: true } });
    expectClose(out.loss, plain.loss / meanW, 1e-12);
  });
});

describe('identities of docs/algorithm.md §2', () => {
  const input = {
    logpOld: [-0.7, -1.1, -0.2, -2.4, -0.6, -1.3, -0.9],
    logpNew: [-0.6, -1.25, -0.1, -2.3, -0.75, -1.2, -0.85],
    logpRef: [-0.65, -1.0, -0.3, -2.2, -0.7, -1.35, -0.8],
    groupRewards: [1, 0, 0.5, 1],
  };

  it('should equal GRPO for the recent style with c = 0', () => {
    for (const index of [0, 1]) {
      const grpo = referenceSequenceObjective({
        ...input,
        index,
        config: { ...SPEC_CONFIG, estimator: 'grpo' },
      });
      for (const variant of ['eps_trace', 'eps_weight'] as const) {
        for (const fn of [referenceSequenceObjective, sequenceObjective]) {
          const out = fn({ ...input, index, config: { ...SPEC_CONFIG, lambda: 0, variant } });
          expectClose(out.loss, grpo.loss, 1e-6);
          expectAllClose(out.gradLogpNew, grpo.gradLogpNew, 1e-5, 1e-8);
        }
      }
    }
  });

  it('should not equal GRPO for the both style with c = 0 (the first token stays in every trace)', () => {
    // tr(t, t) = max(0^t, 0^0) = 1: z_t = d_0 + d_t for t ≥ 1.
    const out = referenceSequenceObjective({
      ...input,
      index: 0,
      config: { ...SPEC_CONFIG, lambda: 0, traceStyle: 'both' },
    });
    const d = input.logpNew.map((v, k) => v - input.logpOld[k]);
    expectAllClose(
      out.tracedLogRatio!,
      d.map((dk, t) => (t === 0 ? dk : d[0] + dk)),
      1e-12,
      1e-15,
    );
    const grpo = referenceSequenceObjective({
      ...input,
      index: 0,
      config: { ...SPEC_CONFIG, estimator: 'grpo' },
    });
    expect(Math.abs(out.loss - grpo.loss)).toBeGreaterThan(1e-3);
  });

  it('should give ε-trace and ε-weight the same on-policy gradient, GRPO with per-token advantage Ã·W_k', () => {
    // old = new: every ratio is 1 (unclipped), so ∂L/∂new_k = −(1/T)·[Ã·W_k − β(1 − e^(x_k))].
    const onPolicy = { ...input, logpOld: input.logpNew };
    const T = input.logpNew.length;
    for (const traceStyle of ['recent', 'both'] as const) {
      for (const index of [0, 1]) {
        const trace = referenceSequenceObjective({
          ...onPolicy,
          index,
          config: { ...SPEC_CONFIG, traceStyle },
        });
        const expected = trace.weights.map(
          (w, k) => -(trace.advantage * w - 0.04 * (1 - Math.exp(input.logpRef[k] - input.logpNew[k]))) / T,
        );
        for (const variant of ['eps_trace', 'eps_weight'] as const) {
          const config = { ...SPEC_CONFIG, traceStyle, variant };
          expectAllClose(
            referenceSequenceObjective({ ...onPolicy, index, config }).gradLogpNew,
            expected,
            1e-12,
            1e-15,
          );
          expectAllClose(
            sequenceObjective({ ...onPolicy, index, config }).gradLogpNew,
            expected,
            0,
            FLOAT32 * maxAbs(expected),
          );
        }
      }
    }
  });
});

describe('input checks', () => {
  it('should reject an empty completion, mismatched lengths and a bad index', () => {
    const config = SPEC_CONFIG;
    expect(() =>
      sequenceObjective({ logpNew: [], logpOld: [], logpRef: null, groupRewards: [1, 0], index: 0, config }),
    ).toThrow(/empty/);
    expect(() => referenceSequenceObjective({ ...SPEC_INPUT, logpOld: [-1], index: 0, config })).toThrow(
      /same length/,
    );
    expect(() => referenceSequenceObjective({ ...SPEC_INPUT, index: 4, config })).toThrow(/not a member/);
  });

  it('should require logpRef when beta > 0 and reject an invalid config', () => {
    expect(() => sequenceObjective({ ...SPEC_INPUT, logpRef: null, index: 0, config: SPEC_CONFIG })).toThrow(
      /logpRef/,
    );
    expect(() =>
      referenceSequenceObjective({ ...SPEC_INPUT, logpRef: null, index: 0, config: SPEC_CONFIG }),
    ).toThrow(/logpRef/);
    expect(() =>
      sequenceObjective({ ...SPEC_INPUT, index: 0, config: { ...SPEC_CONFIG, lambda: 1.5 } }),
    ).toThrow(/lambda/);
  });
});
