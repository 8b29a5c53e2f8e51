import { ema, groupMetrics, groupOf, histogram, positiveOnly } from './metric-groups';

describe('groupMetrics', () => {
  it('should put each metric in its section by name or prefix, key ones first, unknown ones in Other', () => {
    const layout = groupMetrics([
      'time/update',
      'kl',
      'eval_accuracy',
      'completions/clipped_ratio',
      'rewards/digits/mean',
      'reward',
      'learning_rate',
      'grad_norm',
      'zeta',
      'clip_ratio',
      'loss',
    ]);
    expect(layout.map(({ group, names }) => [group.id, names])).toEqual([
      ['reward', ['reward', 'rewards/digits/mean']],
      ['eval', ['eval_accuracy']],
      ['policy', ['loss', 'clip_ratio', 'kl']],
      ['completions', ['completions/clipped_ratio']],
      ['optimiser', ['grad_norm', 'learning_rate']],
      ['throughput', ['time/update']],
      ['other', ['zeta']],
    ]);
    expect(groupOf('eval_loss').id).toBe('eval');
  });
});

describe('ema', () => {
  it('should debias the first point and skip nulls', () => {
    expect(ema([2, null, 4], 0.5)).toEqual([2, null, (0.5 * 1 + 0.5 * 4) / 0.75]);
    expect(ema([1, 2], 0)).toEqual([1, 2]);
  });
});

describe('positiveOnly', () => {
  it('should turn values a log axis cannot draw into gaps', () => {
    expect(positiveOnly([1, 0, -2, null, 3])).toEqual([1, null, null, null, 3]);
  });
});

describe('histogram', () => {
  it('should count values into equal bins with the maximum in the last bin', () => {
    expect(histogram([0, 0.5, 1, 1], 2)).toEqual({ edges: [0, 0.5, 1], counts: [1, 3] });
    expect(histogram([3, 3], 8)).toEqual({ edges: [3, 4], counts: [2] });
    expect(histogram([], 4)).toEqual({ edges: [], counts: [] });
  });
});
