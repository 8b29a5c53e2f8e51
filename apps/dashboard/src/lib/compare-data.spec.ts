import type { MetricRow } from './api';
import { configDiff, flattenConfig, mergeAxes, seedBand, toCsv } from './compare-data';

const row = (step: number, metrics: Record<string, number>): MetricRow => ({ step, metrics, created_at: 0 });

describe('config diff', () => {
  it('should flatten nested settings and keep only the keys that differ', () => {
    const a = flattenConfig({
      seed: 1,
      method: { algorithm: { name: 'grpo', beta: 0 } },
      metadata: { arm: 'grpo' },
    });
    const b = flattenConfig({ seed: 2, method: { algorithm: { name: 'grpo', beta: 0.1 } }, metadata: null });
    expect(a['method.algorithm.name']).toBe('"grpo"');
    expect(configDiff([a, b])).toEqual([
      { key: 'metadata', values: [null, 'null'] },
      { key: 'metadata.arm', values: ['"grpo"', null] },
      { key: 'method.algorithm.beta', values: ['0', '0.1'] },
      { key: 'seed', values: ['1', '2'] },
    ]);
  });
});

describe('seedBand', () => {
  it('should give mean ± population std over the runs at each step, at their mean x', () => {
    const s1 = [row(1, { reward: 0, sampled_tokens: 10 }), row(2, { reward: 1, sampled_tokens: 10 })];
    const s2 = [row(1, { reward: 1, sampled_tokens: 30 }), row(2, { reward: 1, sampled_tokens: 30 })];
    expect(seedBand([s1, s2], 'reward', 'sampled_tokens')).toEqual({
      x: [20, 40],
      mean: [0.5, 1],
      lower: [0, 1],
      upper: [1, 1],
      runs: 2,
    });
  });
});

describe('mergeAxes and toCsv', () => {
  it('should share one x axis and write what is shown as long-format CSV', () => {
    const merged = mergeAxes([
      { x: [1, 3], values: [0.1, 0.3] },
      { x: [2], values: [0.2] },
    ]);
    expect(merged).toEqual({
      x: [1, 2, 3],
      values: [
        [0.1, null, 0.3],
        [null, 0.2, null],
      ],
    });
    const csv = toCsv('step', [
      { metric: 'reward', x: merged.x, series: [{ label: 'run "a", seed 1', values: merged.values[0] }] },
    ]);
    expect(csv).toBe(
      'metric,series,step,value\nreward,"run ""a"", seed 1",1,0.1\nreward,"run ""a"", seed 1",3,0.3\n',
    );
  });
});
