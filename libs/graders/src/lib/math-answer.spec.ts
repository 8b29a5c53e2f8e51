import { answersEquivalent, extractAnswer, lastBoxed, referenceAnswer } from './math-answer';

describe('math answers', () => {
  describe('extraction', () => {
    it.each([
      ['so the answer is \\boxed{42}.', '42'],
      ['first \\boxed{1} then \\boxed{\\frac{1}{2}}', '\\frac{1}{2}'],
      ['\\boxed{\\frac{\\sqrt{3}}{2}} done', '\\frac{\\sqrt{3}}{2}'],
      ['Natalia sold 48/2 = 24 clips.\n#### 72', '72'],
      ['#### 1,000\nthanks', '1,000'],
      ['We get 3 apples and then 17 pears.', '17'],
      ['The total is $5.', '$5'],
      ['It drops to -3.5 degrees', '-3.5'],
      ['half: 1/2', '1/2'],
      ['no digits here', null],
    ])('should extract from %j → %j', (text, expected) => {
      expect(extractAnswer(text)).toBe(expected);
    });

    it('should return null for an unclosed \\boxed{', () => {
      expect(lastBoxed('\\boxed{12')).toBeNull();
    });

    it('should take the final answer of a GSM8K-style reference solution', () => {
      expect(referenceAnswer('48/2 = 24\n#### 72')).toBe('72');
      expect(referenceAnswer(' 7 ')).toBe('7');
    });
  });

  describe('equivalence', () => {
    it.each([
      ['-3.0', '-3'],
      ['0.5', '1/2'],
      ['\\frac{1}{2}', '0.5'],
      ['\\dfrac{3}{4}', '0.75'],
      ['\\frac12', '1/2'],
      ['1,000', '1000'],
      ['50%', '0.5'],
      ['50\\%', '50'],
      ['$5', '5'],
      ['\\$5.00', '5'],
      ['x = 5', '5'],
      ['\\sqrt{4}', '2'],
      ['\\frac{\\sqrt{3}}{2}', '0.8660254037844386'],
      ['2\\pi', '2\\pi'],
      ['\\text{(B)}', '(B)'],
      ['90^\\circ', '90'],
    ])('should accept %j as %j', (answer, reference) => {
      expect(answersEquivalent(answer, reference)).toBe(true);
    });

    it.each([
      ['3', '-3'],
      ['0.5', '1/3'],
      ['1,2', '12'],
      ['x+1', 'x+2'],
      ['', '0'],
      ['1.0001', '1'],
    ])('should reject %j as %j', (answer, reference) => {
      expect(answersEquivalent(answer, reference)).toBe(false);
    });

    it('should honour the tolerance', () => {
      // |1.0001 − 1| = 1e-4 ≤ 1e-3 · max(1, 1.0001)
      expect(answersEquivalent('1.0001', '1', 1e-3)).toBe(true);
    });
  });
});
