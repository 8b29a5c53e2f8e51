import { formatNumber, formatRelative } from './format';

describe('formatNumber', () => {
  it('should keep four significant digits and drop trailing zeros', () => {
    expect(formatNumber(0.123456)).toBe('0.1235');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(12.3)).toBe('12.3');
  });

  it('should print integers with grouping, tiny and huge values in exponent form, and missing values as a dash', () => {
    expect(formatNumber(169802)).toBe((169802).toLocaleString());
    expect(formatNumber(0.00001)).toBe('1.00e-5');
    expect(formatNumber(undefined)).toBe('—');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });
});

describe('formatRelative', () => {
  const now = 1_000_000 * 1000;
  it('should say "in …" for the future and "… ago" for the past, in the largest fitting unit', () => {
    expect(formatRelative(1_000_000 + 30, now)).toBe('in 30 s');
    expect(formatRelative(1_000_000 + 15 * 60, now)).toBe('in 15 min');
    expect(formatRelative(1_000_000 - 2 * 3600, now)).toBe('2 h ago');
    expect(formatRelative(null, now)).toBe('—');
  });
});
