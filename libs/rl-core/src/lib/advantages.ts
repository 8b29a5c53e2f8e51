import { Registry } from './registry';
import { mean } from './stats';

/** A standard deviation of plain numbers (float64). */
export type StdFn = (values: readonly number[]) => number;

function sumOfSquaredDeviations(values: readonly number[]): number {
  const mu = mean(values);
  return values.reduce((sum, v) => sum + (v - mu) * (v - mu), 0);
}

/** `sample` divides by N − 1 (PyTorch's `std()`, used by TRL); `population` by N. */
export const stdModes = new Registry<StdFn>('std mode')
  .register('sample', (values) =>
    values.length < 2 ? 0 : Math.sqrt(sumOfSquaredDeviations(values) / (values.length - 1)),
  )
  .register('population', (values) =>
    values.length === 0 ? 0 : Math.sqrt(sumOfSquaredDeviations(values) / values.length),
  );

export interface RewardScalingInput {
  rewards: readonly number[];
  /** R_i − mean of i's group. */
  centred: readonly number[];
  /** Member indices of every group. */
  groups: readonly (readonly number[])[];
  std: StdFn;
  advEps: number;
}

/** Turns centred rewards into advantages (one pure function per `scaleRewards` value). */
export type RewardScaling = (input: RewardScalingInput) => number[];

export const rewardScalings = new Registry<RewardScaling>('reward scaling')
  // GRPO: divide by the std of the sequence's own group.
  .register('group', ({ rewards, centred, groups, std, advEps }) => {
    const scaled = [...centred];
    for (const members of groups) {
      const scale = std(members.map((i) => rewards[i])) + advEps;
      for (const i of members) scaled[i] = centred[i] / scale;
    }
    return scaled;
  })
  // TRL `scale_rewards="batch"`: centre per group, divide by the std of all rewards of the batch.
  .register('batch', ({ rewards, centred, std, advEps }) => {
    const scale = std(rewards) + advEps;
    return centred.map((a) => a / scale);
  })
  // Dr. GRPO: no division, the std biases towards too easy / too hard prompts.
  .register('none', ({ centred }) => [...centred]);

export interface GroupAdvantageInput {
  rewards: readonly number[];
  /** Group (prompt) of every sequence; sequences of one group need not be adjacent. */
  groupIds: readonly (number | string)[];
  scaleRewards: string;
  stdMode: string;
  advEps: number;
  advantageClampMin: number | null;
}

export interface GroupAdvantages {
  /** A_i before the clamp. */
  raw: number[];
  /** Ã_i = max(A_i, advantageClampMin) (= A_i without clamp). */
  advantages: number[];
  /** Whether i's group has all rewards equal (no learning signal). */
  zeroStd: boolean[];
  groupCount: number;
  zeroStdGroupCount: number;
}

/** Group-normalised advantages (docs/algorithm.md §1) and the clamp of GRPO-λ (§2), float64 on the host. */
export function computeGroupAdvantages(input: GroupAdvantageInput): GroupAdvantages {
  const { rewards, groupIds } = input;
  if (rewards.length !== groupIds.length) {
    throw new Error(
      `rewards (${rewards.length}) and groupIds (${groupIds.length}) must have one entry per sequence`,
    );
  }
  rewards.forEach((r, i) => {
    if (!Number.isFinite(r)) throw new Error(`reward ${i} is ${r}; rewards must be finite numbers`);
  });
  const byGroup = new Map<number | string, number[]>();
  groupIds.forEach((g, i) => byGroup.set(g, [...(byGroup.get(g) ?? []), i]));
  const groups = [...byGroup.values()];
  const centred = new Array<number>(rewards.length).fill(0);
  const zeroStd = new Array<boolean>(rewards.length).fill(false);
  let zeroStdGroupCount = 0;
  for (const members of groups) {
    if (members.length < 2) {
      throw new Error(
        `group '${String(groupIds[members[0]])}' has one completion; GRPO needs ≥ 2 per prompt (check groupSize and groupIds)`,
      );
    }
    const values = members.map((i) => rewards[i]);
    // Equal rewards: exactly zero (mean() could leave a rounding residue that advEps would blow up).
    const flat = Math.max(...values) === Math.min(...values);
    if (flat) zeroStdGroupCount++;
    const mu = mean(values);
    for (const i of members) {
      centred[i] = flat ? 0 : rewards[i] - mu;
      zeroStd[i] = flat;
    }
  }
  const raw = rewardScalings.get(input.scaleRewards)({
    rewards,
    centred,
    groups,
    std: stdModes.get(input.stdMode),
    advEps: input.advEps,
  });
  const clampMin = input.advantageClampMin;
  const advantages = raw.map((a) => (clampMin === null ? a : Math.max(a, clampMin)));
  return { raw, advantages, zeroStd, groupCount: groups.length, zeroStdGroupCount };
}
