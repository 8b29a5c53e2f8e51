import { availableParallelism } from 'node:os';

import { AUTO_THREADS_MIN_PARAMETERS, threadMemoryBytes, trainingThreads } from './pool';

describe('trainingThreads', () => {
  const big = 10 * AUTO_THREADS_MIN_PARAMETERS;
  const plenty = 1024 * threadMemoryBytes(big);

  it('should take an explicit count as given', () => {
    expect(trainingThreads(3, 10, { backend: 'wasm' })).toBe(3);
    expect(trainingThreads(2, big, { backend: 'tensorflow' })).toBe(2);
  });

  it('should give automatic one thread per core within the cores and the memory allowed', () => {
    const all = trainingThreads(0, big, { backend: 'wasm', memoryBudgetBytes: plenty });
    expect(all).toBe(availableParallelism());
    expect(trainingThreads(0, big, { backend: 'wasm', memoryBudgetBytes: plenty, maxThreads: 1 })).toBe(1);
    const two = 2 * threadMemoryBytes(big) + 1;
    expect(trainingThreads(0, big, { backend: 'cpu', memoryBudgetBytes: two, maxThreads: 64 })).toBe(
      Math.min(2, availableParallelism()),
    );
    expect(trainingThreads(0, big, { backend: 'wasm', memoryBudgetBytes: 1 })).toBe(1);
  });

  it('should give automatic one thread on native backends and for small models', () => {
    expect(trainingThreads(0, big, { backend: 'tensorflow', memoryBudgetBytes: plenty })).toBe(1);
    expect(
      trainingThreads(0, AUTO_THREADS_MIN_PARAMETERS - 1, { backend: 'wasm', memoryBudgetBytes: plenty }),
    ).toBe(1);
  });
});
