import { Rng } from '@tracetune/model';

import type { TaskDifficulty, TaskOptions, TaskProblem } from './types';

type Op = '+' | '-' | '*';

const PRESETS: Record<TaskDifficulty, { operations: number; operandMax: number; verbose: boolean }> = {
  short: { operations: 2, operandMax: 9, verbose: false },
  medium: { operations: 3, operandMax: 20, verbose: false },
  // "Step k: a op b = c" lines: ≥ 64 byte tokens per solution (the learning benchmark needs long completions).
  long: { operations: 4, operandMax: 20, verbose: true },
};

const PRECEDENCE: Record<Op, number> = { '+': 1, '-': 1, '*': 2 };

function apply(a: number, op: Op, b: number): number {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

/**
 * Multi-step arithmetic evaluated left to right (parentheses make that order explicit, e.g. "(17+5)*3-4"), with a
 * worked solution of one line per operation and a final "#### <answer>". Multiplications use a small factor (2..9)
 * so numbers stay short for byte-level models.
 */
export function generateArithmetic(options: TaskOptions): TaskProblem[] {
  const preset = PRESETS[options.difficulty ?? 'medium'];
  const operations = options.operations ?? preset.operations;
  const operandMax = options.operandMax ?? preset.operandMax;
  const rng = new Rng(options.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));
  const ops: Op[] = options.operators?.length ? options.operators : ['+', '-', '*'];
  const out: TaskProblem[] = [];
  for (let n = 0; n < options.n; n++) {
    let value = int(1, operandMax);
    let expr = String(value);
    let lastPrecedence = 3; // a bare number never needs parentheses
    const lines: string[] = [];
    for (let k = 0; k < operations; k++) {
      const op = ops[int(0, ops.length - 1)];
      const b = op === '*' ? int(2, 9) : int(1, operandMax);
      const next = apply(value, op, b);
      const left = PRECEDENCE[op] > lastPrecedence ? `(${expr})` : expr;
      expr = `${left}${op}${b}`;
      lastPrecedence = PRECEDENCE[op];
      lines.push(
        preset.verbose ? `Step ${k + 1}: ${value} ${op} ${b} = ${next}` : `${value}${op}${b}=${next}`,
      );
      value = next;
    }
    out.push({
      prompt: `Compute ${expr}.`,
      solution: `${lines.join('\n')}\n#### ${value}`,
      answer: String(value),
    });
  }
  return out;
}
