import { validateFineTuneLine } from '@tracetune/contracts';
import { createGrader, sampleFromText } from '@tracetune/graders';

import { generateArithmetic, generateCountdown, mathAnswerGrader, toJsonl, type TaskProblem } from '.';

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
