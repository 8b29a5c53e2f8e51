import { advantageEstimators } from './estimators';
import { Registry } from './registry';

describe('Registry', () => {
  it('should return registered entries and list the known names for an unknown one', () => {
    const registry = new Registry<() => number>('widget').register('a', () => 1).register('b', () => 2);
    expect(registry.get('b')()).toBe(2);
    expect(registry.names()).toEqual(['a', 'b']);
    expect(() => registry.get('c')).toThrow("unknown widget 'c'; known: a, b");
  });

  it('should accept the same entry twice but refuse a different one under a taken name', () => {
    const one = (): number => 1;
    const registry = new Registry<() => number>('widget').register('a', one);
    expect(() => registry.register('a', one)).not.toThrow();
    expect(() => registry.register('a', () => 1)).toThrow(/already registered/);
  });

  it('should hold the built-in estimators', () => {
    expect(advantageEstimators.names()).toEqual(['grpo', 'grpo_lambda']);
    expect(() => advantageEstimators.get('ppo')).toThrow(/known: grpo, grpo_lambda/);
  });
});
