import { computeGroupAdvantages, rewardScalings, stdModes } from './advantages';

const base = { scaleRewards: 'group', stdMode: 'sample', advEps: 1e-4, advantageClampMin: null };

describe('stdModes', () => {
  it('should divide by N − 1 for sample and N for population', () => {
    // [1, 0, 0, 1]: squared deviations 4·0.25 = 1 → sample sqrt(1/3), population sqrt(1/4) = 0.5.
    expect(stdModes.get('sample')([1, 0, 0, 1])).toBeCloseTo(Math.sqrt(1 / 3), 15);
    expect(stdModes.get('population')([1, 0, 0, 1])).toBe(0.5);
  });
});

describe('computeGroupAdvantages', () => {
  it('should normalise within each group, groups need not be adjacent', () => {
    // Group a = rows 0, 2: rewards [1, 0] → mean 0.5, sample std sqrt(0.5): A = ±0.5/(sqrt(0.5) + 1e-4).
    // Group b = rows 1, 3: rewards [0.25, 0.75] → mean 0.5, sample std sqrt(0.125): A = ∓0.25/(sqrt(0.125) + 1e-4).
    const out = computeGroupAdvantages({
      ...base,
      rewards: [1, 0.25, 0, 0.75],
      groupIds: ['a', 'b', 'a', 'b'],
    });
    const a = 0.5 / (Math.sqrt(0.5) + 1e-4);
    const b = 0.25 / (Math.sqrt(0.125) + 1e-4);
    expect(out.raw[0]).toBeCloseTo(a, 14);
    expect(out.raw[2]).toBeCloseTo(-a, 14);
    expect(out.raw[1]).toBeCloseTo(-b, 14);
    expect(out.raw[3]).toBeCloseTo(b, 14);
    expect(out.groupCount).toBe(2);
  });

  it('should scale by the batch std or not at all', () => {
    // Centred: [0.5, −0.25, −0.5, 0.25]; batch rewards [1, .25, 0, .75]: mean 0.5, Σdev² = 0.625, sample std sqrt(0.625/3).
    const rewards = [1, 0.25, 0, 0.75];
    const groupIds = [0, 1, 0, 1];
    const batch = computeGroupAdvantages({ ...base, scaleRewards: 'batch', rewards, groupIds });
    expect(batch.raw[0]).toBeCloseTo(0.5 / (Math.sqrt(0.625 / 3) + 1e-4), 14);
    expect(computeGroupAdvantages({ ...base, scaleRewards: 'none', rewards, groupIds }).raw).toEqual([
      0.5, -0.25, -0.5, 0.25,
    ]);
  });

  it('should give exactly 0 to equal-reward groups, count them, and clamp from below', () => {
    // 0.1 + 0.2 + 0.3 style rounding must not leave a residue: rewards all 0.1.
    const out = computeGroupAdvantages({
      ...base,
      advantageClampMin: -0.1,
      rewards: [0.1, 0.1, 0.1, 1, 0],
      groupIds: [0, 0, 0, 1, 1],
    });
    expect(out.raw.slice(0, 3)).toEqual([0, 0, 0]);
    expect(out.zeroStd).toEqual([true, true, true, false, false]);
    expect(out.zeroStdGroupCount).toBe(1);
    expect(out.advantages[4]).toBe(-0.1);
    expect(out.raw[4]).toBeLessThan(-0.1);
  });

  it('should reject singleton groups, mismatched lengths and non-finite rewards', () => {
    expect(() => computeGroupAdvantages({ ...base, rewards: [1, 0, 1], groupIds: [0, 0, 1] })).toThrow(/≥ 2/);
    expect(() => computeGroupAdvantages({ ...base, rewards: [1, 0], groupIds: [0] })).toThrow(
      /one entry per sequence/,
    );
    expect(() => computeGroupAdvantages({ ...base, rewards: [1, Number.NaN], groupIds: [0, 0] })).toThrow(
      /finite/,
    );
  });

  it('should list the known scalings for an unknown one', () => {
    expect(() => rewardScalings.get('rank')).toThrow(/known: group, batch, none/);
  });
});
