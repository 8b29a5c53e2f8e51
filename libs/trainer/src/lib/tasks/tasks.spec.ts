import { validateFineTuneLine } from '@tracetune/contracts';
import { createGrader, sampleFromText } from '@tracetune/graders';

import {
  firstErrorLine,
  generateArithmetic,
  generateChain,
  generateCountdown,
  mathAnswerGrader,
  toJsonl,
  type ChainVariant,
  type TaskProblem,
} from '.';

function lines(text: string): unknown[] {
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

function evaluateLeftToRight(solution: string): number {
  // Each step line is "a op b = c" (optionally "Step k: "); check the arithmetic and the chaining.
  let last: number | null = null;
  for (const line of solution.split('\n').filter((l) => !l.startsWith('####'))) {
    const m = /(-?\d+) ?([+\-*]) ?(\d+) ?= ?(-?\d+)$/.exec(line);
    if (!m) throw new Error(`bad step line: ${line}`);
    const [a, op, b, c] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
    if (last !== null) expect(a).toBe(last);
    expect(op === '+' ? a + b : op === '-' ? a - b : a * b).toBe(c);
    last = c;
  }
  return last as number;
}

describe('synthetic tasks', () => {
  const grader = createGrader(mathAnswerGrader());
  afterAll(() => grader.dispose());

  const cases: [string, TaskProblem[]][] = [
    ['arithmetic short', generateArithmetic({ n: 30, seed: 1, difficulty: 'short' })],
    ['arithmetic long', generateArithmetic({ n: 30, seed: 2, difficulty: 'long' })],
    ['countdown', generateCountdown({ n: 30, seed: 3 })],
    ['chain', generateChain({ n: 30, seed: 5, variant: 'hard_last' })],
  ];

  it.each(cases)('%s: should produce valid RFT and SFT lines', (_name, problems) => {
    for (const raw of lines(toJsonl(problems, 'rft'))) {
      const r = validateFineTuneLine(raw);
      expect(r.ok && r.line.rft).toBe(true);
    }
    for (const raw of lines(toJsonl(problems, 'sft'))) {
      const r = validateFineTuneLine(raw);
      expect(r.ok && r.line.sft).toBe(true);
    }
  });

  it.each(cases)(
    '%s: should have worked solutions whose steps are right and that the math_answer grader accepts',
    async (_name, problems) => {
      for (const p of problems) {
        expect(String(evaluateLeftToRight(p.solution))).toBe(p.answer);
        const good = await grader.grade(sampleFromText(p.solution), { answer: p.answer });
        expect(good.score).toBe(1);
        const bad = await grader.grade(
          sampleFromText(`${p.solution.split('####')[0]}#### ${Number(p.answer) + 1}`),
          { answer: p.answer },
        );
        expect(bad.score).toBe(0);
      }
    },
  );

  it('should make arithmetic prompts whose expression evaluates to the answer', () => {
    for (const p of generateArithmetic({ n: 50, seed: 4, difficulty: 'medium' })) {
      const expr = /^Compute (.*)\.$/.exec(p.prompt)?.[1] as string;
      expect(expr).toMatch(/^[\d+\-*()]+$/);
      expect(String(Function(`return (${expr});`)())).toBe(p.answer);
    }
  });

  it('should make long worked solutions of at least 64 byte tokens', () => {
    for (const p of generateArithmetic({ n: 50, seed: 5, difficulty: 'long' })) {
      expect(Buffer.byteLength(p.solution)).toBeGreaterThanOrEqual(64);
    }
  });

  it('should be deterministic in the seed and differ across seeds', () => {
    expect(generateCountdown({ n: 5, seed: 9 })).toEqual(generateCountdown({ n: 5, seed: 9 }));
    expect(generateArithmetic({ n: 5, seed: 9 })).not.toEqual(generateArithmetic({ n: 5, seed: 10 }));
  });

  it('should make countdown problems whose numbers reach the target', () => {
    for (const p of generateCountdown({ n: 30, seed: 6 })) {
      const numbers = (p.extra?.['numbers'] as number[]).slice().sort((a, b) => a - b);
      const used = p.solution
        .split('\n')
        .filter((l) => !l.startsWith('####'))
        .map((l, i) => {
          const m = /^(\d+)[+\-*](\d+)=/.exec(l) as RegExpExecArray;
          return i === 0 ? [Number(m[1]), Number(m[2])] : [Number(m[2])];
        })
        .flat()
        .sort((a, b) => a - b);
      expect(used).toEqual(numbers);
      expect(p.extra?.['target']).toBe(Number(p.answer));
    }
  });
});

describe('decision-dense chains', () => {
  const chains = (variant: ChainVariant): TaskProblem[] => generateChain({ n: 200, seed: 4, variant });

  it.each<ChainVariant>(['uniform', 'hard_first', 'hard_last'])(
    '%s: should have 8 right, chained ± steps of operands 1..20 and about 170 byte tokens',
    (variant) => {
      const problems = chains(variant);
      for (const p of problems) {
        expect(String(evaluateLeftToRight(p.solution))).toBe(p.answer);
        const ops = p.solution.split('\n').filter((l) => l.startsWith('Step'));
        expect(ops).toHaveLength(8);
        for (const line of ops) {
          const b = Number(/[+-] (\d+) =/.exec(line)?.[1]);
          expect(b).toBeGreaterThanOrEqual(1);
          expect(b).toBeLessThanOrEqual(20);
        }
        expect(firstErrorLine(p.solution, p.extra?.['steps'] as number[], p.answer)).toBe(0);
      }
      const meanTokens =
        problems.reduce((s, p) => s + p.prompt.length + p.solution.length, 0) / problems.length;
      expect(meanTokens).toBeGreaterThan(150);
      expect(meanTokens).toBeLessThan(210);
    },
  );

  it('should put the one hard step (two-digit operand with a carry or borrow) first or last', () => {
    const hardSteps = (p: TaskProblem): number[] =>
      p.solution
        .split('\n')
        .filter((l) => l.startsWith('Step'))
        .flatMap((line, k) => {
          const [, a, op, b, c] = /: (\d+) ([+-]) (\d+) = (\d+)/.exec(line) as RegExpExecArray;
          const tens = Math.floor(Number(a) / 10) + (op === '+' ? 1 : -1);
          return Number(b) >= 11 && Math.floor(Number(c) / 10) !== tens ? [k + 1] : [];
        });
    for (const p of chains('hard_first')) expect(hardSteps(p)).toEqual([1]);
    for (const p of chains('hard_last')) expect(hardSteps(p)).toEqual([8]);
    expect(chains('uniform').some((p) => hardSteps(p).length > 1)).toBe(true);
  });

  it('should find where a completion first went wrong', () => {
    const [p] = generateChain({ n: 1, seed: 7 });
    const steps = p.extra?.['steps'] as number[];
    const lines = p.solution.split('\n');
    const wrongAt = (k: number): string =>
      lines.map((l, i) => (i === k ? l.replace(/= (\d+)$/, (_m, x) => `= ${Number(x) + 1}`) : l)).join('\n');
    expect(firstErrorLine(wrongAt(0), steps, p.answer)).toBe(1);
    expect(firstErrorLine(wrongAt(5), steps, p.answer)).toBe(6);
    expect(firstErrorLine(lines.slice(0, 3).join('\n'), steps, p.answer)).toBe(4);
    expect(firstErrorLine(p.solution.replace(/#### \d+/, '#### 1000'), steps, p.answer)).toBe(9);
  });
});
