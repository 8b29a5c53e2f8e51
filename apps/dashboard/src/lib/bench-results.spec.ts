import { benchResultsToRuns } from './bench-results';

describe('benchResultsToRuns', () => {
  it('should turn each (arm, seed) shard into a run with per-step rewards and evaluations by step', () => {
    const runs = benchResultsToRuns({
      config: {},
      results: [
        {
          arm: 'grpo',
          seed: 1,
          evalSteps: [0, 2],
          evalAccuracy: [0.5, 0.75],
          rewards: [0.1, 0.2],
          gradNorms: [1, 2],
        },
      ],
    });
    expect(runs).toEqual([
      {
        id: 'grpo-seed1',
        label: 'grpo-seed1',
        metadata: { arm: 'grpo', seed: '1' },
        rows: [
          { step: 0, metrics: { eval_accuracy: 0.5 }, created_at: 0 },
          { step: 1, metrics: { reward: 0.1, grad_norm: 1 }, created_at: 0 },
          { step: 2, metrics: { reward: 0.2, grad_norm: 2, eval_accuracy: 0.75 }, created_at: 0 },
        ],
      },
    ]);
  });

  it('should refuse another shape', () => {
    expect(() => benchResultsToRuns({ data: [] })).toThrow('Not a learning benchmark results file');
    expect(() => benchResultsToRuns({ results: [{ arm: 'x' }] })).toThrow('Not a learning benchmark');
  });
});
