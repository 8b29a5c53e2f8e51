/**
 * The `multi` grader's `calculate_output` language, parsed by recursive descent (never `eval`):
 *
 *   expr    := term (('+' | '-') term)*
 *   term    := unary (('*' | '/') unary)*
 *   unary   := ('-' | '+') unary | power
 *   power   := primary ('^' unary)?          right-associative: 2^3^2 = 2^9; -2^2 = -(2^2)
 *   primary := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
 *
 * Functions: min, max (one or more arguments), abs, floor, ceil, exp, sqrt, log (natural log), one argument each.
 */

export type FormulaNode =
  | { kind: 'num'; value: number }
  | { kind: 'var'; name: string; pos: number }
  | { kind: 'neg'; arg: FormulaNode }
  | { kind: 'bin'; op: '+' | '-' | '*' | '/' | '^'; left: FormulaNode; right: FormulaNode }
  | { kind: 'call'; fn: string; args: FormulaNode[]; pos: number };

export class FormulaSyntaxError extends Error {
  /** 0-based character offset of the problem in the formula. */
  readonly position: number;

  constructor(message: string, position: number) {
    super(`${message} at position ${position}`);
    this.name = 'FormulaSyntaxError';
    this.position = position;
  }
}

const UNARY_FNS: Record<string, (x: number) => number> = {
  abs: Math.abs,
  floor: Math.floor,
  ceil: Math.ceil,
  exp: Math.exp,
  sqrt: Math.sqrt,
  log: Math.log,
};
const VARIADIC_FNS: Record<string, (...xs: number[]) => number> = { min: Math.min, max: Math.max };
export const FORMULA_FUNCTIONS = [...Object.keys(VARIADIC_FNS), ...Object.keys(UNARY_FNS)];

interface Token {
  type: 'num' | 'name' | 'op' | 'end';
  text: string;
  pos: number;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i));
    if (num) {
      tokens.push({ type: 'num', text: num[0], pos: i });
      i += num[0].length;
      continue;
    }
    const name = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (name) {
      tokens.push({ type: 'name', text: name[0], pos: i });
      i += name[0].length;
      continue;
    }
    if ('+-*/^(),'.includes(ch)) {
      tokens.push({ type: 'op', text: ch, pos: i });
      i++;
      continue;
    }
    throw new FormulaSyntaxError(`unexpected character "${ch}"`, i);
  }
  tokens.push({ type: 'end', text: '', pos: src.length });
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): FormulaNode {
    if (this.peek().type === 'end') throw new FormulaSyntaxError('empty formula', 0);
    const node = this.expr();
    const t = this.peek();
    if (t.type !== 'end') throw new FormulaSyntaxError(`unexpected "${t.text}"`, t.pos);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.i];
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.type === 'op' && t.text === text;
  }

  private expect(text: string): void {
    const t = this.peek();
    if (!this.isOp(text)) throw new FormulaSyntaxError(`expected "${text}" but found ${describe(t)}`, t.pos);
    this.i++;
  }

  private expr(): FormulaNode {
    let left = this.term();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.tokens[this.i++].text as '+' | '-';
      left = { kind: 'bin', op, left, right: this.term() };
    }
    return left;
  }

  private term(): FormulaNode {
    let left = this.unary();
    while (this.isOp('*') || this.isOp('/')) {
      const op = this.tokens[this.i++].text as '*' | '/';
      left = { kind: 'bin', op, left, right: this.unary() };
    }
    return left;
  }

  private unary(): FormulaNode {
    if (this.isOp('-')) {
      this.i++;
      return { kind: 'neg', arg: this.unary() };
    }
    if (this.isOp('+')) {
      this.i++;
      return this.unary();
    }
    return this.power();
  }

  private power(): FormulaNode {
    const base = this.primary();
    if (this.isOp('^')) {
      this.i++;
      // The exponent is a `unary`, which itself reaches `power` again: that recursion makes ^ right-associative.
      return { kind: 'bin', op: '^', left: base, right: this.unary() };
    }
    return base;
  }

  private primary(): FormulaNode {
    const t = this.peek();
    if (t.type === 'num') {
      this.i++;
      return { kind: 'num', value: Number(t.text) };
    }
    if (t.type === 'name') {
      this.i++;
      if (!this.isOp('(')) return { kind: 'var', name: t.text, pos: t.pos };
      if (!(t.text in UNARY_FNS) && !(t.text in VARIADIC_FNS)) {
        throw new FormulaSyntaxError(
          `unknown function "${t.text}" (known: ${FORMULA_FUNCTIONS.join(', ')})`,
          t.pos,
        );
      }
      this.i++;
      const args = [this.expr()];
      while (this.isOp(',')) {
        this.i++;
        args.push(this.expr());
      }
      this.expect(')');
      if (t.text in UNARY_FNS && args.length !== 1) {
        throw new FormulaSyntaxError(`${t.text}() takes 1 argument, got ${args.length}`, t.pos);
      }
      return { kind: 'call', fn: t.text, args, pos: t.pos };
    }
    if (this.isOp('(')) {
      this.i++;
      const inner = this.expr();
      this.expect(')');
      return inner;
    }
    throw new FormulaSyntaxError(`expected a number, name or "(" but found ${describe(t)}`, t.pos);
  }
}

function describe(t: Token): string {
  return t.type === 'end' ? 'end of formula' : `"${t.text}"`;
}

/** Parses a formula; throws `FormulaSyntaxError` naming the position. */
export function parseFormula(src: string): FormulaNode {
  return new Parser(tokenize(src)).parse();
}

/** Variable names a formula uses, with the position of their first use. */
export function formulaVariables(node: FormulaNode, out = new Map<string, number>()): Map<string, number> {
  switch (node.kind) {
    case 'var':
      if (!out.has(node.name)) out.set(node.name, node.pos);
      break;
    case 'neg':
      formulaVariables(node.arg, out);
      break;
    case 'bin':
      formulaVariables(node.left, out);
      formulaVariables(node.right, out);
      break;
    case 'call':
      node.args.forEach((a) => formulaVariables(a, out));
      break;
    default:
      break;
  }
  return out;
}

/** Evaluates with IEEE semantics (1/0 = Infinity, log(-1) = NaN); the caller decides what a non-finite result means. */
export function evaluateFormula(node: FormulaNode, vars: Readonly<Record<string, number>>): number {
  switch (node.kind) {
    case 'num':
      return node.value;
    case 'var': {
      // Own properties only: `toString` must not find Object.prototype.toString.
      const v = Object.prototype.hasOwnProperty.call(vars, node.name) ? vars[node.name] : undefined;
      if (v === undefined) throw new FormulaSyntaxError(`unknown variable "${node.name}"`, node.pos);
      return v;
    }
    case 'neg':
      return -evaluateFormula(node.arg, vars);
    case 'bin': {
      const a = evaluateFormula(node.left, vars);
      const b = evaluateFormula(node.right, vars);
      switch (node.op) {
        case '+':
          return a + b;
        case '-':
          return a - b;
        case '*':
          return a * b;
        case '/':
          return a / b;
        case '^':
          return a ** b;
      }
      break;
    }
    case 'call': {
      const args = node.args.map((a) => evaluateFormula(a, vars));
      const unary = UNARY_FNS[node.fn];
      return unary ? unary(args[0]) : VARIADIC_FNS[node.fn](...args);
    }
  }
  throw new Error('unreachable formula node');
}
