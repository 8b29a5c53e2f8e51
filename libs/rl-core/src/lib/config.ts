/**
 * The RL loss configuration: one flat, typed object whose options are documented in `RL_CONFIG_OPTIONS`
 * (grouped by purpose, each with its default, meaning and source, in the manner of TRL's `grpo_config.py`).
 * This module imports nothing (no tfjs): it is also the package's `@tracetune/rl-core/config` entry point, which the
 * api uses to validate a job's settings at the edge with exactly the rules the trainer applies.
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

/** The documentation of every option; docs/rl-core.md shows it as {@link rlConfigOptionsTable} renders it. */
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
    source: `${GRPO_PAPER}; G = 8 is common practice`,
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
    source: 'PyTorch / TRL',
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
    source: 'ours (docs/algorithm.md)',
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
    default: '0',
    meaning:
      'Weight of the k3 KL estimator `exp(x) − x − 1`, `x = logπ_ref − logπ_θ`. 0 needs no reference model; GRPO used 0.04.',
    source: `${GRPO_PAPER}; k3 from Schulman's "Approximating KL divergence" (2020); 0 as in DAPO, Dr. GRPO and TRL`,
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
    default: '128',
    meaning:
      "The constant normaliser of 'seq-mean-token-sum-norm'; no completion may be longer. Integer ≥ 1.",
    source: `${LAMBDA_PAPER} used 256 tokens at 1.5B/3B, 768 at 7B; 128 suits byte-level models (docs/fine-tuning.md)`,
  },
];

/** The markdown table of {@link RL_CONFIG_OPTIONS} (`npm run docs:tables` writes it into docs/rl-core.md). */
export function rlConfigOptionsTable(): string {
  const rows = RL_CONFIG_OPTIONS.map(
    (o) => `| ${o.group} | \`${o.key}\` | ${o.default} | ${o.meaning} | ${o.source} |`,
  );
  return ['| group | option | default | meaning | source |', '| --- | --- | --- | --- | --- |', ...rows].join(
    '\n',
  );
}

/**
 * GRPO-λ as reported (λ = 0.99, γ = 1, clamp −0.1, style `both`, variant ε-trace) with the service's choices where the
 * paper is silent or sized for larger models (β = 0, 128 completion tokens). These equal the defaults of a job's
 * settings (libs/contracts, fine-tuning-settings.ts); a trainer spec holds the two together.
 */
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
  beta: 0,
  lossAggregation: 'seq-mean-token-mean',
  maxCompletionLength: 128,
});

/** Plain GRPO: no advantage clamp; the trace options are ignored by the `grpo` estimator. */
export const GRPO_DEFAULTS: Readonly<RlConfig> = Object.freeze({
  ...GRPO_LAMBDA_DEFAULTS,
  estimator: 'grpo',
  advantageClampMin: null,
});

/** One problem of a config: the key at fault and why, with what to do. */
export interface RlConfigProblem {
  key: RlConfigKey;
  message: string;
}

export class RlConfigError extends Error {
  constructor(readonly problems: readonly RlConfigProblem[]) {
    super(`invalid RL config:\n- ${problems.map((p) => p.message).join('\n- ')}`);
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

/** The names the registries ship with (a spec holds them equal); what code that loads no registry validates against. */
export const BUILTIN_NAMES: Readonly<KnownNames> = Object.freeze({
  estimator: ['grpo', 'grpo_lambda'],
  scaleRewards: ['group', 'batch', 'none'],
  stdMode: ['sample', 'population'],
  traceStyle: ['recent', 'both'],
  variant: ['eps_trace', 'eps_weight'],
  lossAggregation: ['seq-mean-token-mean', 'token-mean', 'seq-mean-token-sum-norm'],
});

function inUnit(value: number): boolean {
  return Number.isFinite(value) && value >= 0 && value <= 1;
}

/** Every problem of `config`, each saying why it is wrong and what to do; empty when valid. */
export function listRlConfigProblems(config: RlConfig, known: KnownNames): RlConfigProblem[] {
  const problems: RlConfigProblem[] = [];
  const problem = (key: RlConfigKey, message: string): void => void problems.push({ key, message });
  for (const key of Object.keys(known) as (keyof KnownNames)[]) {
    const value = config[key];
    if (!known[key].includes(value))
      problem(key, `${key} '${value}' is unknown; use one of: ${known[key].join(', ')}`);
  }
  if (!inUnit(config.lambda)) {
    problem(
      'lambda',
      `lambda = ${config.lambda} must lie in [0, 1] (it is a trace decay; 0.99 is the paper's value)`,
    );
  }
  if (!inUnit(config.gamma)) {
    problem(
      'gamma',
      `gamma = ${config.gamma} must lie in [0, 1] (a discount; use 1 for undiscounted episodes)`,
    );
  }
  if (!Number.isInteger(config.groupSize) || config.groupSize < 2) {
    problem(
      'groupSize',
      `groupSize = ${config.groupSize} must be an integer ≥ 2: the group-normalised advantage compares samples of one prompt`,
    );
  }
  if (!(Number.isFinite(config.epsilon) && config.epsilon > 0)) {
    problem('epsilon', `epsilon = ${config.epsilon} must be > 0 (the PPO clip range; 0.2 is usual)`);
  }
  if (!(Number.isFinite(config.epsilonHigh) && config.epsilonHigh >= config.epsilon)) {
    problem(
      'epsilonHigh',
      `epsilonHigh = ${config.epsilonHigh} must be finite and ≥ epsilon = ${config.epsilon} (clip-higher only widens the upper range; set it equal to epsilon to disable)`,
    );
  }
  if (!(Number.isFinite(config.beta) && config.beta >= 0)) {
    problem(
      'beta',
      `beta = ${config.beta} must be ≥ 0 (the KL weight; 0 disables the KL term and the reference model)`,
    );
  }
  if (!(Number.isFinite(config.advEps) && config.advEps > 0)) {
    problem(
      'advEps',
      `advEps = ${config.advEps} must be > 0, or groups with equal rewards divide by zero (1e-4 is usual)`,
    );
  }
  if (!inUnit(config.traceFloor)) {
    problem(
      'traceFloor',
      `traceFloor = ${config.traceFloor} must lie in [0, 1] (a lower bound of trace weights ≤ 1; 0 disables)`,
    );
  }
  if (config.advantageClampMin !== null && !Number.isFinite(config.advantageClampMin)) {
    problem(
      'advantageClampMin',
      `advantageClampMin = ${config.advantageClampMin} must be a finite number or null (null disables the clamp)`,
    );
  }
  if (config.advantageClampMin !== null && config.advantageClampMin > 0) {
    problem(
      'advantageClampMin',
      `advantageClampMin = ${config.advantageClampMin} is > 0, which would turn every below-average completion into a positive example; use a value ≤ 0 (−0.1 in the paper) or null`,
    );
  }
  if (!Number.isInteger(config.maxCompletionLength) || config.maxCompletionLength < 1) {
    problem(
      'maxCompletionLength',
      `maxCompletionLength = ${config.maxCompletionLength} must be an integer ≥ 1`,
    );
  }
  if (typeof config.skipZeroStdGroups !== 'boolean')
    problem('skipZeroStdGroups', 'skipZeroStdGroups must be a boolean');
  if (typeof config.normalizeTraceWeights !== 'boolean') {
    problem('normalizeTraceWeights', 'normalizeTraceWeights must be a boolean');
  }
  return problems;
}

/**
 * `base` with `overrides`, not yet validated. Keys set to `undefined` keep the base value (`null` is a value: it
 * disables the advantage clamp). Overriding `epsilon` alone moves `epsilonHigh` with it, so clip-higher stays off
 * unless asked for.
 */
export function mergeRlConfig(
  overrides: Partial<RlConfig>,
  base: Readonly<RlConfig> = GRPO_LAMBDA_DEFAULTS,
): RlConfig {
  const given = Object.fromEntries(
    Object.entries(overrides).filter(([, v]) => v !== undefined),
  ) as Partial<RlConfig>;
  const epsilonHigh =
    given.epsilonHigh ??
    (given.epsilon !== undefined && base.epsilonHigh === base.epsilon ? given.epsilon : base.epsilonHigh);
  return { ...base, ...given, epsilonHigh };
}

/**
 * The merged config and its problems against the built-in names, without loading tfjs or the registries: what the
 * api runs on a job's settings, so that every config the trainer would refuse is refused at the edge.
 */
export function checkRlConfig(
  overrides: Partial<RlConfig>,
  base: Readonly<RlConfig> = GRPO_LAMBDA_DEFAULTS,
): { config: RlConfig; problems: RlConfigProblem[] } {
  const config = mergeRlConfig(overrides, base);
  return { config, problems: listRlConfigProblems(config, BUILTIN_NAMES) };
}
