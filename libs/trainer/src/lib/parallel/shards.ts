import type { PolicyLossStats, RlConfig } from '@tracetune/rl-core';

/** What a gradient shard needs from its rows: rewards, group ids and completion lengths. */
export interface ShardRows {
  rewards: readonly number[];
  groupIds: readonly number[];
  lengths: readonly number[];
}

/** A shard's part of its micro-batch: of the loss (`weight`), of its sequences and of its completion tokens. */
export interface ShardShare {
  weight: number;
  rows: number;
  tokens: number;
}

/**
 * Row ranges [start, end) splitting a micro-batch into at most `parts` runs of whole groups (rows of a group are
 * contiguous), as even as possible in groups. With `scale_rewards: 'batch'` the advantages depend on the whole
 * micro-batch, so it is never split.
 */
export function shardRanges(
  groupIds: readonly number[],
  parts: number,
  config: RlConfig,
): [number, number][] {
  const starts: number[] = [];
  groupIds.forEach((g, i) => (i === 0 || g !== groupIds[i - 1]) && starts.push(i));
  const n = config.scaleRewards === 'batch' ? 1 : Math.max(1, Math.min(parts, starts.length));
  const ranges: [number, number][] = [];
  for (let k = 0; k < n; k++) {
    const first = Math.floor((k * starts.length) / n);
    const next = Math.floor(((k + 1) * starts.length) / n);
    ranges.push([starts[first], next < starts.length ? starts[next] : groupIds.length]);
  }
  return ranges;
}

/** Rows that enter the loss: all, or those of groups with some reward spread when `skipZeroStdGroups`. */
function includedRows(rows: ShardRows, config: RlConfig): boolean[] {
  if (!config.skipZeroStdGroups) return rows.rewards.map(() => true);
  const span = new Map<number, [number, number]>();
  rows.groupIds.forEach((g, i) => {
    const [lo, hi] = span.get(g) ?? [Infinity, -Infinity];
    span.set(g, [Math.min(lo, rows.rewards[i]), Math.max(hi, rows.rewards[i])]);
  });
  return rows.groupIds.map((g) => {
    const [lo, hi] = span.get(g) as [number, number];
    return hi !== lo;
  });
}

/**
 * Each shard's share of its micro-batch. Every loss aggregation of rl-core is linear in per-token terms with
 * coefficients that depend on the micro-batch only through its included sequence count (sequence means) or
 * included token count (`token-mean`), and advantages are per group: so the micro-batch loss is exactly
 * Σ weight_s · loss(shard s) with weight_s the shard's part of that count.
 */
export function shardShares(
  rows: ShardRows,
  ranges: readonly [number, number][],
  config: RlConfig,
): ShardShare[] {
  const included = includedRows(rows, config);
  const byTokens = config.lossAggregation === 'token-mean';
  const unit = (i: number): number => (included[i] ? (byTokens ? rows.lengths[i] : 1) : 0);
  const sum = (from: number, to: number, f: (i: number) => number): number => {
    let s = 0;
    for (let i = from; i < to; i++) s += f(i);
    return s;
  };
  const total = sum(0, rows.lengths.length, unit);
  const tokens = sum(0, rows.lengths.length, (i) => rows.lengths[i]);
  return ranges.map(([a, b]) => ({
    weight: total > 0 ? sum(a, b, unit) / total : (b - a) / rows.lengths.length,
    rows: (b - a) / rows.lengths.length,
    tokens: sum(a, b, (i) => rows.lengths[i]) / tokens,
  }));
}

/**
 * The statistics of a micro-batch from those of its shards (what the trainer's metrics read): the loss terms by
 * loss weight, token means by token share, sequence means by row share, the advantage std pooled.
 */
export function mergeShardStats(
  parts: readonly { stats: PolicyLossStats; share: ShardShare }[],
): PolicyLossStats {
  if (parts.length === 1) return parts[0].stats;
  const by = (key: 'weight' | 'rows' | 'tokens', f: (s: PolicyLossStats) => number): number =>
    parts.reduce((acc, p) => acc + p.share[key] * f(p.stats), 0);
  const advantageMean = by('rows', (s) => s.advantageMean);
  const secondMoment = by('rows', (s) => s.advantageStd ** 2 + s.advantageMean ** 2);
  const tokens = parts.reduce((acc, p) => acc + p.stats.tokens, 0);
  const kl = parts.some((p) => p.stats.klMean === null) ? null : by('tokens', (s) => s.klMean as number);
  return {
    ...parts[0].stats,
    loss: by('weight', (s) => s.loss),
    policyLoss: by('weight', (s) => s.policyLoss),
    klMean: kl,
    clipFractionLow: by('tokens', (s) => s.clipFractionLow),
    clipFractionHigh: by('tokens', (s) => s.clipFractionHigh),
    clipFraction: by('tokens', (s) => s.clipFraction),
    tracedLogRatioAbsMean: by('tokens', (s) => s.tracedLogRatioAbsMean),
    logRatioAbsMean: by('tokens', (s) => s.logRatioAbsMean),
    ratioMax: Math.max(...parts.map((p) => p.stats.ratioMax)),
    traceWeightMean: parts.reduce((acc, p) => acc + p.stats.traceWeightMean * p.stats.tokens, 0) / tokens,
    advantageMean,
    advantageStd: Math.sqrt(Math.max(0, secondMoment - advantageMean ** 2)),
    advantageRawMean: by('rows', (s) => s.advantageRawMean),
    advantageClampedFraction: by('rows', (s) => s.advantageClampedFraction),
    zeroStdGroupFraction: by('rows', (s) => s.zeroStdGroupFraction),
    skippedSequences: parts.reduce((acc, p) => acc + p.stats.skippedSequences, 0),
    sequences: parts.reduce((acc, p) => acc + p.stats.sequences, 0),
    groups: parts.reduce((acc, p) => acc + p.stats.groups, 0),
    tokens,
  };
}
