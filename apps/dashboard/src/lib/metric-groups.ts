/** A section of the run page: the metrics it holds, by exact name or prefix, key ones first. */
export interface MetricGroup {
  id: string;
  title: string;
  /** Exact names, in display order (the key ones first). */
  names: readonly string[];
  /** Any other metric starting with one of these joins the group, after the named ones, alphabetically. */
  prefixes: readonly string[];
}

export const METRIC_GROUPS: readonly MetricGroup[] = [
  {
    id: 'reward',
    title: 'Reward & accuracy',
    names: ['reward', 'accuracy', 'reward_std', 'frac_reward_zero_std', 'grader_errors'],
    prefixes: ['rewards/'],
  },
  {
    id: 'eval',
    title: 'Evaluation',
    names: ['eval_reward', 'eval_accuracy', 'eval_loss'],
    prefixes: ['eval_'],
  },
  {
    id: 'policy',
    title: 'Policy: loss, clipping, KL, entropy',
    names: [
      'loss',
      'train_loss',
      'policy_loss',
      'clip_ratio',
      'kl',
      'entropy',
      'trace_weight_mean',
      'advantage_mean',
      'advantage_std',
      'advantage_clamped_fraction',
    ],
    prefixes: ['advantage'],
  },
  {
    id: 'completions',
    title: 'Completions: lengths, clipped',
    names: ['completions/mean_length', 'completions/clipped_ratio', 'completions/max_length'],
    prefixes: ['completions/'],
  },
  {
    id: 'optimiser',
    title: 'Optimiser: gradient norm, learning rate',
    names: ['grad_norm', 'learning_rate', 'grad_norm_max'],
    prefixes: ['grad_'],
  },
  {
    id: 'throughput',
    title: 'Throughput & time',
    names: [
      'tokens_per_second',
      'step_time',
      'sampled_tokens',
      'sampled_tokens_total',
      'trained_tokens',
      'loss_tokens',
    ],
    prefixes: ['time/', 'throughput/'],
  },
];

const OTHER: MetricGroup = { id: 'other', title: 'Other', names: [], prefixes: [] };

/** The group a metric belongs to: by exact name first, then by prefix; 'other' when none claims it. */
export function groupOf(name: string): MetricGroup {
  return (
    METRIC_GROUPS.find((g) => g.names.includes(name)) ??
    METRIC_GROUPS.find((g) => g.prefixes.some((p) => name.startsWith(p))) ??
    OTHER
  );
}

/** The present metrics laid out by group (empty groups left out), each group's named metrics first. */
export function groupMetrics(names: readonly string[]): { group: MetricGroup; names: string[] }[] {
  return [...METRIC_GROUPS, OTHER]
    .map((group) => {
      const mine = names.filter((n) => groupOf(n).id === group.id);
      const rank = (n: string) => {
        const i = group.names.indexOf(n);
        return i === -1 ? group.names.length : i;
      };
      return { group, names: mine.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)) };
    })
    .filter((entry) => entry.names.length > 0);
}

/**
 * Exponential moving average with TensorBoard's debiasing (the first points are not dragged towards 0):
 * s_t = w·s_{t−1} + (1 − w)·x_t, shown as s_t / (1 − w^n) after n points. Nulls stay null and do not count.
 */
export function ema(values: readonly (number | null)[], weight: number): (number | null)[] {
  if (weight <= 0) return [...values];
  let s = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    s = weight * s + (1 - weight) * v;
    n++;
    return s / (1 - weight ** n);
  });
}

/** For a log-scale axis: values ≤ 0 cannot be drawn and become gaps. */
export function positiveOnly(values: readonly (number | null)[]): (number | null)[] {
  return values.map((v) => (v !== null && v > 0 ? v : null));
}

/** Equal-width bins over [min, max] of the values: counts and bin edges (one bin when all are equal). */
export function histogram(values: readonly number[], bins: number): { edges: number[]; counts: number[] } {
  if (values.length === 0) return { edges: [], counts: [] };
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const n = hi === lo ? 1 : bins;
  const width = hi === lo ? 1 : (hi - lo) / n;
  const counts = new Array<number>(n).fill(0);
  for (const v of values) counts[Math.min(n - 1, Math.floor((v - lo) / width))]++;
  return { edges: Array.from({ length: n + 1 }, (_, i) => lo + i * width), counts };
}
