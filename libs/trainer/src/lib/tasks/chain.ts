import { Rng } from '@tracetune/model';

import type { TaskProblem } from './types';

/** Where the chain's one hard operation sits: first, last, or nowhere in particular (every operation drawn alike). */
export type ChainVariant = 'uniform' | 'hard_first' | 'hard_last';

export interface ChainOptions {
  n: number;
  seed: number;
  variant?: ChainVariant;
  /** Operations per chain (default 8). */
  operations?: number;
  /** Operands are drawn from 1..operandMax (default 20). */
  operandMax?: number;
}

/** Running values stay in 0..VALUE_MAX (two digits at most: short numbers for byte-level models). */
const VALUE_MAX = 99;

/** A hard step: a two-digit operand that carries or borrows across a tens boundary. */
function isHard(value: number, op: '+' | '-', b: number): boolean {
  const next = op === '+' ? value + b : value - b;
  return b >= 11 && Math.floor(next / 10) !== Math.floor(value / 10) + (op === '+' ? 1 : -1);
}

type StepKind = 'any' | 'hard' | 'easy';

/** One operation on `value`, uniform over the operands (and +/−) of its kind that keep the value in range. */
function drawStep(
  int: (lo: number, hi: number) => number,
  value: number,
  operandMax: number,
  kind: StepKind,
): { op: '+' | '-'; b: number; next: number } | null {
  // Some values admit no hard step (0 and 10 neither carry nor borrow with a two-digit operand): give up, redraw.
  for (let tries = 0; tries < 1000; tries++) {
    const op: '+' | '-' = int(0, 1) === 0 ? '+' : '-';
    const b = kind === 'hard' ? int(11, Math.max(11, operandMax)) : int(1, operandMax);
    const next = op === '+' ? value + b : value - b;
    if (next < 0 || next > VALUE_MAX) continue;
    // An easy step never looks like the hard one, so the variant really moves the one hard decision.
    if (kind === 'any' || (kind === 'hard') === isHard(value, op, b)) return { op, b, next };
  }
  return null;
}

/** One chain, or null when a step could not be drawn (the caller draws another chain). */
function drawChain(
  int: (lo: number, hi: number) => number,
  operations: number,
  operandMax: number,
  kindAt: (k: number) => StepKind,
): TaskProblem | null {
  let value = int(20, 80);
  let expr = String(value);
  const lines: string[] = [];
  const steps: number[] = [];
  for (let k = 0; k < operations; k++) {
    const step = drawStep(int, value, operandMax, kindAt(k));
    if (!step) return null;
    lines.push(`Step ${k + 1}: ${value} ${step.op} ${step.b} = ${step.next}`);
    expr += `${step.op}${step.b}`;
    value = step.next;
    steps.push(value);
  }
  return {
    prompt: `Compute ${expr}.`,
    solution: `${lines.join('\n')}\n#### ${value}`,
    answer: String(value),
    extra: { steps },
  };
}

/**
 * Decision-dense chains for the learning benchmark: `operations` (8) additions and subtractions of operands 1..20
 * evaluated left to right, e.g. "Compute 14+7-19+3-12+20-5+9-11.", with a worked solution of one "Step k: a op b = c"
 * line per operation and "#### answer" (≈ 150–180 byte tokens), so that most tokens are decisions. In the
 * `hard_first` / `hard_last` variants exactly one step (the first / the last) has a two-digit operand that carries or
 * borrows and every other step avoids that; GRPO-λ's positional weighting of credit predicts that its gap to a
 * position-blind control changes sign between the two. The item carries each step's result (`steps`) so that the
 * trainer can log where a completion first went wrong.
 */
export function generateChain(options: ChainOptions): TaskProblem[] {
  const operations = options.operations ?? 8;
  const operandMax = options.operandMax ?? 20;
  const variant = options.variant ?? 'uniform';
  const hardAt = variant === 'hard_first' ? 0 : variant === 'hard_last' ? operations - 1 : -1;
  const rng = new Rng(options.seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));
  const kindAt = (k: number): StepKind => (variant === 'uniform' ? 'any' : k === hardAt ? 'hard' : 'easy');
  const out: TaskProblem[] = [];
  while (out.length < options.n) {
    const problem = drawChain(int, operations, operandMax, kindAt);
    if (problem) out.push(problem);
  }
  return out;
}

/**
 * Where a completion of a chain first goes wrong: 1..steps.length for the first "Step" line whose result differs
 * from `steps` (or is missing), steps.length + 1 when every step is right but the answer line is not, 0 when the
 * completion is right throughout.
 */
export function firstErrorLine(text: string, steps: readonly number[], answer: string): number {
  const results = [...text.matchAll(/^Step \d+:.*?=\s*(-?\d+)\s*$/gm)].map((m) => Number(m[1]));
  for (let k = 0; k < steps.length; k++) if (results[k] !== steps[k]) return k + 1;
  const final = /####\s*(-?\d+)/.exec(text);
  return final && final[1] === answer ? 0 : steps.length + 1;
}
