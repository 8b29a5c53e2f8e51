import { lcsLength, lcsLengthDP } from './tokenize';

describe('longest common subsequence', () => {
  it('should give hand-derived lengths', () => {
    // "ABCBDAB" vs "BDCABA": LCS = 4 (e.g. BCBA), the CLRS textbook example
    expect(lcsLength('ABCBDAB', 'BDCABA')).toBe(4);
    expect(lcsLengthDP('ABCBDAB', 'BDCABA')).toBe(4);
    expect(lcsLength('', 'abc')).toBe(0);
    expect(lcsLength('abc', 'abc')).toBe(3);
  });

  it('should agree with the dynamic programme on seeded random inputs across word boundaries', () => {
    let state = 42;
    const rand = (n: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return Math.floor((state / 2147483648) * n);
    };
    for (const [lenA, lenB, alphabet] of [
      [31, 40, 3],
      [32, 32, 2],
      [33, 10, 4],
      [64, 70, 5],
      [65, 65, 2],
      [200, 150, 26],
      [500, 480, 4],
    ]) {
      for (let trial = 0; trial < 5; trial++) {
        const a = Array.from({ length: lenA }, () => rand(alphabet));
        const b = Array.from({ length: lenB }, () => rand(alphabet));
        expect(lcsLength(a, b)).toBe(lcsLengthDP(a, b));
      }
    }
  });
});
