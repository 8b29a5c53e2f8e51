import { evaluateFormula, FormulaSyntaxError, formulaVariables, parseFormula } from './formula';

const calc = (src: string, vars: Record<string, number> = {}) => evaluateFormula(parseFormula(src), vars);

describe('formula parser', () => {
  it('should apply * and / before + and -', () => {
    // 1 + 2*3 - 8/4 = 1 + 6 - 2 = 5
    expect(calc('1 + 2 * 3 - 8 / 4')).toBe(5);
    // left-associative: 8 / 4 / 2 = (8/4)/2 = 1 ; 10 - 3 - 2 = 5
    expect(calc('8 / 4 / 2')).toBe(1);
    expect(calc('10 - 3 - 2')).toBe(5);
  });

  it('should make ^ right-associative and bind tighter than unary minus', () => {
    // 2^3^2 = 2^(3^2) = 2^9 = 512, not (2^3)^2 = 64
    expect(calc('2 ^ 3 ^ 2')).toBe(512);
    // -2^2 = -(2^2) = -4 ; 2^-1 = 0.5
    expect(calc('-2 ^ 2')).toBe(-4);
    expect(calc('2 ^ -1')).toBe(0.5);
    // 2 * 3 ^ 2 = 2 * 9 = 18
    expect(calc('2 * 3 ^ 2')).toBe(18);
  });

  it('should honour parentheses and unary minus', () => {
    // (1 + 2) * 3 = 9 ; --3 = 3 ; -(2 - 5) = 3
    expect(calc('(1 + 2) * 3')).toBe(9);
    expect(calc('--3')).toBe(3);
    expect(calc('-(2 - 5)')).toBe(3);
  });

  it('should evaluate the functions', () => {
    // min(3,1,2)=1, max(3,1,2)=3, abs(-2.5)=2.5, floor(1.7)=1, ceil(1.2)=2, sqrt(16)=4, log(exp(2))=2
    expect(calc('min(3, 1, 2)')).toBe(1);
    expect(calc('max(3, 1, 2)')).toBe(3);
    expect(calc('abs(-2.5) + floor(1.7) + ceil(1.2) + sqrt(16)')).toBe(2.5 + 1 + 2 + 4);
    expect(calc('log(exp(2))')).toBeCloseTo(2, 12);
  });

  it('should read numeric literals with decimals and exponents', () => {
    expect(calc('0.5 + .25 + 1e-1 + 2E1')).toBeCloseTo(20.85, 12);
  });

  it('should bind sub-grader names as variables', () => {
    // 0.7*1 + 0.3*0.5 = 0.85
    expect(calc('0.7 * exact + 0.3 * fuzzy', { exact: 1, fuzzy: 0.5 })).toBeCloseTo(0.85, 12);
    expect([...formulaVariables(parseFormula('a + min(b, a)')).keys()]).toEqual(['a', 'b']);
  });

  it.each([
    ['1 +', 3, 'end of formula'],
    ['(1 + 2', 6, 'expected ")"'],
    ['1 $ 2', 2, 'unexpected character "$"'],
    ['2 3', 2, 'unexpected "3"'],
    ['foo(1)', 0, 'unknown function "foo"'],
    ['abs(1, 2)', 0, 'abs() takes 1 argument'],
    ['', 0, 'empty formula'],
  ])('should report %j as a syntax error at position %d', (src, position, text) => {
    let caught: unknown;
    try {
      parseFormula(src);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FormulaSyntaxError);
    expect((caught as FormulaSyntaxError).position).toBe(position);
    expect((caught as FormulaSyntaxError).message).toContain(text);
  });

  it('should never evaluate JavaScript', () => {
    expect(() => parseFormula('process.exit(1)')).toThrow(FormulaSyntaxError);
    expect(() => parseFormula('constructor["constructor"]("return 1")()')).toThrow(FormulaSyntaxError);
    // a variable named like an Object.prototype member is not looked up on the prototype chain
    expect(() => calc('toString', {})).toThrow('unknown variable');
  });
});
