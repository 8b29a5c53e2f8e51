import { DEFAULT_TRAINER_SETTINGS, learningRateAt } from './settings';

describe('learning-rate schedule', () => {
  const settings = { ...DEFAULT_TRAINER_SETTINGS, warmupRatio: 0.1 };

  it('should warm up linearly, then decay by cosine to minLrRatio of the peak', () => {
    // 100 updates, 10 of warm-up: update u < 10 gets peak·(u+1)/11.
    expect(learningRateAt(0, 100, 1, settings)).toBeCloseTo(1 / 11, 12);
    expect(learningRateAt(9, 100, 1, settings)).toBeCloseTo(10 / 11, 12);
    expect(learningRateAt(10, 100, 1, settings)).toBeCloseTo(1, 12);
    // Half-way through the decay: 0.1 + 0.9·0.5 = 0.55.
    expect(learningRateAt(55, 100, 1, settings)).toBeCloseTo(0.55, 12);
    expect(learningRateAt(100, 100, 1, settings)).toBeCloseTo(0.1, 12);
  });

  it('should stay at the peak after warm-up with the constant schedule', () => {
    const constant = { ...settings, lrSchedule: 'constant' as const };
    expect(learningRateAt(50, 100, 2e-4, constant)).toBe(2e-4);
    expect(learningRateAt(99, 100, 2e-4, constant)).toBe(2e-4);
  });
});
