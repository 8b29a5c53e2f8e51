import { Rng } from '@tracetune/model';

import type { TaskDifficulty, TaskOptions, TaskProblem } from './types';

const PRESETS: Record<TaskDifficulty, { operations: number; operandMax: number }> = {
  short: { operations: 2, operandMax: 10 },
  medium: { operations: 3, operandMax: 25 },
  long: { operations: 4, operandMax: 25 },
};

/**
 * Countdown: reach a target from given numbers (each used at most once) with + − ×. Problems are built backwards
 * from a random left-to-right combination, so each has a solution; the numbers are listed shuffled. The worked
 * solution shows one operation per line and ends with "#### <target>"; the item also carries `numbers` and
 * `target` for stricter (javascript) graders.
 */
export function generateCountdown(options: TaskOptions): TaskProblem[] {
  const preset = PRESETS[options.difficulty ?? 'medium'];
  const operations = options.operations ?? preset.operations;
  const operandMax = options.operandMax ?? preset.operandMax;
  const rng = new Rng(options.seed ^ 0xc0de);
  const int = (lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));
  const out: TaskProblem[] = [];
  for (let n = 0; n < options.n; n++) {
    const numbers = Array.from({ length: operations + 1 }, () => int(1, operandMax));
    let value = numbers[0];
    const lines: string[] = [];
    for (let k = 1; k < numbers.length; k++) {
      const b = numbers[k];
      // Keep intermediate values positive and small: subtract only when it stays > 0, multiply only small factors.
      const choices = ['+', ...(value - b > 0 ? ['-'] : []), ...(b <= 9 && value * b <= 999 ? ['*'] : [])];
      const op = choices[int(0, choices.length - 1)];
      const next = op === '+' ? value + b : op === '-' ? value - b : value * b;
      lines.push(`${value}${op}${b}=${next}`);
      value = next;
    }
    const shown = [...numbers];
    for (let i = shown.length - 1; i > 0; i--) {
      const j = int(0, i);
      [shown[i], shown[j]] = [shown[j], shown[i]];
    }
    out.push({
      prompt: `Use ${shown.join(',')} to make ${value}.`,
      solution: `${lines.join('\n')}\n#### ${value}`,
      answer: String(value),
      extra: { numbers: shown, target: value },
    });
  }
  return out;
}
