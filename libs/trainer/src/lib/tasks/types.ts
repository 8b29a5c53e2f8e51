/** One synthetic problem: the prompt, a worked solution ending in `#### <answer>`, and the answer. */
export interface TaskProblem {
  prompt: string;
  solution: string;
  answer: string;
  /** Extra grader item fields (e.g. the countdown numbers). */
  extra?: Record<string, unknown>;
}

/** Difficulty presets; explicit `operations` / `operandMax` override them. */
export type TaskDifficulty = 'short' | 'medium' | 'long';

export interface TaskOptions {
  n: number;
  seed: number;
  difficulty?: TaskDifficulty;
  /** Number of operations per problem. */
  operations?: number;
  /** Operands are drawn from 1..operandMax. */
  operandMax?: number;
  /** Arithmetic only: the operators to draw from (default + − ×). */
  operators?: ('+' | '-' | '*')[];
}

/** The math_answer grader that checks these tasks (`#### n` is one of the answer forms it extracts). */
export function mathAnswerGrader(name = 'answer'): Record<string, unknown> {
  return { type: 'math_answer', name, input: '{{sample.output_text}}', reference: '{{item.answer}}' };
}

/** RFT JSONL line: the prompt only; `answer` (and extras) become the grader's item. */
export function toRftLine(p: TaskProblem): string {
  return JSON.stringify({
    messages: [{ role: 'user', content: p.prompt }],
    answer: p.answer,
    ...(p.extra ?? {}),
  });
}

/** SFT JSONL line: the prompt and the worked solution as the assistant message. */
export function toSftLine(p: TaskProblem): string {
  return JSON.stringify({
    messages: [
      { role: 'user', content: p.prompt },
      { role: 'assistant', content: p.solution },
    ],
  });
}

export function toJsonl(problems: readonly TaskProblem[], format: 'rft' | 'sft'): string {
  return problems.map(format === 'rft' ? toRftLine : toSftLine).join('\n') + '\n';
}
