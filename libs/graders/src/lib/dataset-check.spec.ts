import { checkGraderAgainstRows } from './dataset-check';
import { GraderConfigError } from './errors';

describe('checkGraderAgainstRows', () => {
  const grader = {
    type: 'multi',
    name: 'm',
    graders: {
      exact: {
        type: 'string_check',
        name: 'exact',
        input: '{{sample.output_text}}',
        reference: '{{item.answer}}',
        operation: 'eq',
      },
      judge: {
        type: 'score_model',
        name: 'judge',
        model: 'm',
        input: [{ role: 'user', content: 'Q: {{item.meta.question}} A: {{sample.output_text}}' }],
      },
    },
    calculate_output: 'exact',
  };

  it('should pass rows that have every item variable', () => {
    const rows = [
      { messages: [{ role: 'user', content: 'x' }], answer: '1', meta: { question: 'q1' } },
      { answer: 2, meta: { question: 'q2' } },
    ];
    expect(checkGraderAgainstRows(grader, rows)).toEqual({
      ok: true,
      rowsChecked: 2,
      problems: [],
      truncated: false,
    });
  });

  it('should report each unresolved variable with its row number and param', () => {
    const rows = [{ answer: '1', meta: { question: 'q' } }, { meta: {} }, 'not an object'];
    const result = checkGraderAgainstRows(grader, rows);
    expect(result.ok).toBe(false);
    expect(result.problems.map(({ row, param, variable }) => ({ row, param, variable }))).toEqual([
      { row: 2, param: 'grader.graders.exact.reference', variable: 'item.answer' },
      { row: 2, param: 'grader.graders.judge.input.0.content', variable: 'item.meta.question' },
      { row: 3, param: 'grader.graders.exact.reference', variable: 'item.answer' },
      { row: 3, param: 'grader.graders.judge.input.0.content', variable: 'item.meta.question' },
    ]);
    expect(result.problems[0].message).toBe(
      'row 2 has no value for {{item.answer}} (used in grader.graders.exact.reference)',
    );
  });

  it('should stop at maxProblems', () => {
    const result = checkGraderAgainstRows(grader, [{}, {}, {}], { maxProblems: 3 });
    expect(result.problems).toHaveLength(3);
    expect(result.truncated).toBe(true);
  });

  it('should throw GraderConfigError for an invalid grader', () => {
    expect(() => checkGraderAgainstRows({ type: 'nope' }, [])).toThrow(GraderConfigError);
  });
});
