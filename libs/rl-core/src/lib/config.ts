/**
 * The RL loss configuration: one flat, typed object whose options are documented in `RL_CONFIG_OPTIONS`
 * (grouped by purpose, each with its default, meaning and source, in the manner of TRL's `grpo_config.py`).
 */

export type AdvantageEstimatorName = 'grpo' | 'grpo_lambda';
export type TraceStyleName = 'recent' | 'both';
export type PolicyVariantName = 'eps_trace' | 'eps_weight';
export type LossAggregationName = 'seq-mean-token-mean' | 'token-mean' | 'seq-mean-token-sum-norm';
export type RewardScalingName = 'group' | 'batch' | 'none';
export type StdModeName = 'sample' | 'population';

export interface RlConfig {
  // --- advantages (GRPO, Shao et al. 2024, arXiv 2402.03300) ---
  estimator: AdvantageEstimatorName;
  groupSize: number;
  scaleRewards: RewardScalingName;
  stdMode: StdModeName;
  advEps: number;
  advantageClampMin: number | null;
  skipZeroStdGroups: boolean;
  // --- eligibility traces (GRPO-λ, Parthasarathi et al. 2025, arXiv 2510.00194) ---
  gamma: number;
  lambda: number;
  traceStyle: TraceStyleName;
  variant: PolicyVariantName;
  traceFloor: number;
  normalizeTraceWeights: boolean;
  // --- clipping (PPO, Schulman et al. 2017; clip-higher from DAPO, Yu et al. 2025) ---
  epsilon: number;
  epsilonHigh: number;
  // --- KL to the reference policy ---
  beta: number;
  // --- loss aggregation ---
  lossAggregation: LossAggregationName;
  maxCompletionLength: number;
}

export type RlConfigKey = keyof RlConfig;

export interface RlConfigOptionDoc {
  key: RlConfigKey;
  group: 'advantages' | 'traces' | 'clipping' | 'kl' | 'aggregation';
  /** Default in GRPO_LAMBDA_DEFAULTS (and, where it differs, in GRPO_DEFAULTS). */
  default: string;
  meaning: string;
  source: string;
}

const GRPO_PAPER = 'GRPO, Shao et al. 2024 (arXiv 2402.03300)';
const LAMBDA_PAPER = 'GRPO-λ, Parthasarathi et al. 2025 (arXiv 2510.00194)';

/** The documentation of every option; docs/rl-core.md renders the same table. */
export const RL_CONFIG_OPTIONS: readonly RlConfigOptionDoc[] = [
  {
    key: 'estimator',
    group: 'advantages',
    default: "'grpo_lambda' ('grpo' for GRPO_DEFAULTS)",
    meaning:
      "Advantage estimator: 'grpo' gives every token the sequence advantage; 'grpo_lambda' adds eligibility traces.",
    source: `${GRPO_PAPER}; ${LAMBDA_PAPER}`,
  },
  {
    key: 'groupSize',
    group: 'advantages',
    default: '8',
    meaning: 'Completions sampled per prompt (G). At least 2: the group baseline needs two samples.',
    source: `${GRPO_PAPER}; G = 8 is common practice (spec §2)`,
  },
  {
    key: 'scaleRewards',
    group: 'advantages',
    default: "'group'",
    meaning:
      "Divide centred rewards by the group std ('group'), the whole batch's std ('batch') or not at all ('none').",
    source: "TRL scale_rewards; 'none' is Dr. GRPO (Liu et al. 2025, arXiv 2503.20783)",
  },
  {
    key: 'stdMode',
    group: 'advantages',
    default: "'sample'",
    meaning: "Standard deviation with N−1 ('sample', PyTorch's default used by TRL) or N ('population').",
    source: 'spec §1',
  },
  {
    key: 'advEps',
    group: 'advantages',
    default: '1e-4',
    meaning: 'Added to the std before dividing, so equal-reward groups do not divide by zero. > 0.',
    source: 'TRL (1e-4)',
  },
  {
    key: 'advantageClampMin',
    group: 'advantages',
    default: '-0.1 (null for GRPO_DEFAULTS)',
    meaning:
      'Lower clamp of the advantage, Ã = max(A, clamp); negative advantages times traced log-probs destabilise training. null disables.',
    source: LAMBDA_PAPER,
  },
  {
    key: 'skipZeroStdGroups',
    group: 'advantages',
    default: 'false',
    meaning:
      'Leave groups whose rewards are all equal (no signal) out of the loss; they are counted either way.',
    source: 'DAPO dynamic sampling (Yu et al. 2025, arXiv 2503.14476)',
  },
  {
    key: 'gamma',
    group: 'traces',
    default: '1',
    meaning: 'Discount γ ∈ [0, 1]; the trace decays by c = γ·λ per token.',
    source: `${LAMBDA_PAPER} (γ not reported; 1 is common practice)`,
  },
  {
    key: 'lambda',
    group: 'traces',
    default: '0.99',
    meaning: 'Trace parameter λ ∈ [0, 1]; λ = 0 with style recent is plain GRPO.',
    source: LAMBDA_PAPER,
  },
  {
    key: 'traceStyle',
    group: 'traces',
    default: "'both'",
    meaning:
      "'recent': tr(t,l) = c^l; 'both': max(c^l, c^(t−l)), also keeps weight on the first tokens (reported better).",
    source: LAMBDA_PAPER,
  },
  {
    key: 'variant',
    group: 'traces',
    default: "'eps_trace'",
    meaning:
      "'eps_trace': clip the ratio of traced log-probs; 'eps_weight': clip per-token ratios and weight them by W_k.",
    source: `${LAMBDA_PAPER} (eps_weight is our interpretation)`,
  },
  {
    key: 'traceFloor',
    group: 'traces',
    default: '0',
    meaning: 'Lower bound of every trace weight, tr ← max(tr, floor), in [0, 1] (alternative reading of ε).',
    source: `${LAMBDA_PAPER} (interpretation)`,
  },
  {
    key: 'normalizeTraceWeights',
    group: 'traces',
    default: 'false',
    meaning:
      'Divide the policy term of each sequence by its mean trace weight (mean W ≈ 64 at T = 256, λ = 0.99).',
    source: 'spec §2 (ours)',
  },
  {
    key: 'epsilon',
    group: 'clipping',
    default: '0.2',
    meaning: 'Lower clip range: ratios below 1 − ε stop contributing when the advantage is negative. > 0.',
    source: 'PPO (Schulman et al. 2017, arXiv 1707.06347)',
  },
  {
    key: 'epsilonHigh',
    group: 'clipping',
    default: '= epsilon (0.2)',
    meaning:
      'Upper clip range: ratios above 1 + ε_high stop contributing when the advantage is positive. ≥ ε.',
    source: 'DAPO clip-higher (Yu et al. 2025, arXiv 2503.14476; they use 0.28)',
  },
  {
    key: 'beta',
    group: 'kl',
    default: '0.04',
    meaning:
      'Weight of the k3 KL estimator exp(x) − x − 1, x = logπ_ref − logπ_θ. 0 needs no reference model.',
    source: `${GRPO_PAPER}; k3 from Schulman's "Approximating KL divergence" (2020)`,
  },
  {
    key: 'lossAggregation',
    group: 'aggregation',
    default: "'seq-mean-token-mean'",
    meaning:
      "'seq-mean-token-mean': mean over sequences of per-sequence token means (GRPO); 'token-mean': over all tokens (DAPO); 'seq-mean-token-sum-norm': token sums / maxCompletionLength (Dr. GRPO).",
    source: 'GRPO; DAPO (arXiv 2503.14476); Dr. GRPO (arXiv 2503.20783)',
  },
  {
    key: 'maxCompletionLength',
    group: 'aggregation',
    default: '256',
    meaning:
      "The constant normaliser of 'seq-mean-token-sum-norm'; no completion may be longer. Integer ≥ 1.",
    source: `${LAMBDA_PAPER} (256 tokens at 1.5B/3B, 768 at 7B)`,
  },
];

/** GRPO-λ as reported: λ = 0.99, γ = 1, clamp −0.1, style `both` (reported better), variant ε-trace. */
export const GRPO_LAMBDA_DEFAULTS: Readonly<RlConfig> = Object.freeze({
  estimator: 'grpo_lambda',
  groupSize: 8,
  scaleRewards: 'group',
  stdMode: 'sample',
  advEps: 1e-4,
  advantageClampMin: -0.1,
  skipZeroStdGroups: false,
  gamma: 1,
  lambda: 0.99,
  traceStyle: 'both',
  variant: 'eps_trace',
  traceFloor: 0,
  normalizeTraceWeights: false,
  epsilon: 0.2,
  epsilonHigh: 0.2,
  beta: 0.04,
  lossAggregation: 'seq-mean-token-mean',
  maxCompletionLength: 256,
});

/** Plain GRPO: no advantage clamp; the trace options are ignored by the `grpo` estimator. */
export const GRPO_DEFAULTS: Readonly<RlConfig> = Object.freeze({
  ...GRPO_LAMBDA_DEFAULTS,
  estimator: 'grpo',
  advantageClampMin: null,
});

export class RlConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid RL config:\n- ${problems.join('\n- ')}`);
    this.name = 'RlConfigError';
  }
}

/** Names the registries know, passed in so that this module does not depend on them. */
export interface KnownNames {
  estimator: string[];
  scaleRewards: string[];
  stdMode: string[];
  traceStyle: string[];
  variant: string[];
  lossAggregation: string[];
}

function inUnit(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= 1;
}

/** Every problem of `config`, each saying why it is wrong and what to do; empty when valid. */
export function listRlConfigProblems(config: RlConfig, known: KnownNames): string[] {
  const problems: string[] = [];
  const oneOf = (key: keyof KnownNames): void => {
    const value = config[key];
    if (!known[key].includes(value)) {
      problems.push(`${key} '${value}' is unknown; use one of: ${known[key].join(', ')}`);
    }
  };
  (Object.keys(known) as (keyof KnownNames)[]).forEach(oneOf);
  if (!inUnit(config.lambda)) {
    problems.push(
      `lambda = ${config.lambda} must lie in [0, 1] (it is a trace decay; 0.99 is the paper's value)`,
    );
  }
  if (!inUnit(config.gamma)) {
    problems.push(`gamma = ${config.gamma} must lie in [0, 1] (a discount; use 1 for undiscounted episodes)`);
  }
  if (!Number.isInteger(config.groupSize) || config.groupSize < 2) {
    problems.push(
      `groupSize = ${config.groupSize} must be an integer ≥ 2: the group-normalised advantage compares samples of one prompt`,
    );
  }
  if (!(Number.isFinite(config.epsilon) && config.epsilon > 0)) {
    problems.push(`epsilon = ${config.epsilon} must be > 0 (the PPO clip range; 0.2 is usual)`);
  }
  if (!(Number.isFinite(config.epsilonHigh) && config.epsilonHigh >= config.epsilon)) {
    problems.push(
      `epsilonHigh = ${config.epsilonHigh} must be finite and ≥ epsilon = ${config.epsilon} (clip-higher only widens the upper range; set it equal to epsilon to disable)`,
    );
  }
  if (!(Number.isFinite(config.beta) && config.beta >= 0)) {
    problems.push(
      `beta = ${config.beta} must be ≥ 0 (the KL weight; 0 disables the KL term and the reference model)`,
    );
  }
  if (!(Number.isFinite(config.advEps) && config.advEps > 0)) {
    problems.push(
      `advEps = ${config.advEps} must be > 0, or groups with equal rewards divide by zero (1e-4 is usual)`,
    );
  }
  if (!inUnit(config.traceFloor)) {
    problems.push(
      `traceFloor = ${config.traceFloor} must lie in [0, 1] (a lower bound of trace weights ≤ 1; 0 disables)`,
    );
  }
  if (config.advantageClampMin !== null && !Number.isFinite(config.advantageClampMin)) {
    problems.push(
      `advantageClampMin = ${config.advantageClampMin} must be a finite number or null (null disables the clamp)`,
    );
  }
  if (config.advantageClampMin !== null && config.advantageClampMin > 0) {
    problems.push(
      `advantageClampMin = ${config.advantageClampMin} is > 0, which would turn every below-average completion into a positive example; use a value ≤ 0 (−0.1 in the paper) or null`,
    );
  }
  if (!Number.isInteger(config.maxCompletionLength) || config.maxCompletionLength < 1) {
    problems.push(`maxCompletionLength = ${config.maxCompletionLength} must be an integer ≥ 1`);
  }
  if (typeof config.skipZeroStdGroups !== 'boolean' || typeof config.normalizeTraceWeights !== 'boolean') {
    problems.push('skipZeroStdGroups and normalizeTraceWeights must be booleans');
  }
  return problems;
}
