import { GraderConfigError } from './errors';
import { createGrader, validateGrader } from './registry';

const sc = {
  type: 'string_check',
  name: 'a',
  input: '{{sample.output_text}}',
  reference: '{{item.x}}',
  operation: 'eq',
};

describe('grader validation', () => {
  it('should accept a valid grader of every buildable type', () => {
    const judgeInput = [{ role: 'user', content: 'Grade {{sample.output_text}} against {{item.x}}' }];
    const valid = [
      sc,
      { ...sc, operation: 'neq' },
      {
        type: 'text_similarity',
        name: 't',
        input: '{{sample.output_text}}',
        reference: 'r',
        evaluation_metric: 'rouge_l',
        pass_threshold: 0.5,
      },
      {
        type: 'score_model',
        name: 's',
        model: 'gpt-4o-mini',
        input: judgeInput,
        range: [0, 10],
        sampling_params: { temperature: 0, seed: 1 },
      },
      {
        type: 'label_model',
        name: 'l',
        model: 'gpt-4o-mini',
        input: judgeInput,
        labels: ['good', 'bad'],
        passing_labels: ['good'],
      },
      { type: 'multi', name: 'm', graders: { a: sc }, calculate_output: 'a' },
      { type: 'math_answer', name: 'math', reference: '{{item.answer}}' },
      { type: 'javascript', name: 'js', source: 'function grade(s, i) { return 1; }' },
    ];
    for (const g of valid) expect(validateGrader(g)).toEqual({ ok: true, errors: [] });
  });

  it('should list the known types for an unknown type', () => {
    const { ok, errors } = validateGrader({ type: 'regex', name: 'x' });
    expect(ok).toBe(false);
    expect(errors[0].param).toBe('grader.type');
    expect(errors[0].message).toContain(
      'string_check, text_similarity, score_model, label_model, multi, python, math_answer, javascript',
    );
  });

  it('should name nested params', () => {
    const { errors } = validateGrader({
      type: 'multi',
      name: 'm',
      graders: { a: { ...sc, operation: 'contains' }, b: { ...sc, reference: undefined } },
      calculate_output: 'a + b',
    });
    expect(errors.map((e) => e.param)).toEqual(['grader.graders.a.operation', 'grader.graders.b.reference']);
  });

  it('should name the position of a formula syntax error', () => {
    const { errors } = validateGrader({
      type: 'multi',
      name: 'm',
      graders: { a: sc },
      calculate_output: 'a * (2 +',
    });
    expect(errors).toEqual([
      {
        param: 'grader.calculate_output',
        message:
          'formula syntax error: expected a number, name or "(" but found end of formula at position 8',
      },
    ]);
  });

  it('should reject formula variables that are not sub-graders', () => {
    const { errors } = validateGrader({
      type: 'multi',
      name: 'm',
      graders: { a: sc },
      calculate_output: 'a + bb',
    });
    expect(errors[0]).toEqual({
      param: 'grader.calculate_output',
      message: 'unknown variable "bb" at position 4; the formula can use the sub-grader names: a',
    });
  });

  it('should reject nested multi graders', () => {
    const inner = { type: 'multi', name: 'i', graders: { a: sc }, calculate_output: 'a' };
    const { errors } = validateGrader({
      type: 'multi',
      name: 'm',
      graders: { inner },
      calculate_output: 'inner',
    });
    expect(errors[0].param).toBe('grader.graders.inner.type');
  });

  it("should accept OpenAI's python grader shape and refuse a source without grade()", () => {
    expect(
      validateGrader({
        type: 'python',
        name: 'p',
        source: 'def grade(s, i): return 1',
        image_tag: '2025-05-08',
      }),
    ).toEqual({ ok: true, errors: [] });
    const { errors } = validateGrader({ type: 'python', name: 'p', source: 'x = 1' });
    expect(errors[0].param).toBe('grader.source');
  });

  it.each([
    ['{{item.(a', /unterminated template variable/],
    ['{{item.(a}}', /"\(a" is not a field name/],
    ['{{item.a b}}', /"a b" is not a field name/],
    ['x {{item.a {{item.b}}', /unterminated/],
  ])('should refuse the template %s naming its field', (template, message) => {
    const { errors } = validateGrader({
      type: 'string_check',
      name: 's',
      input: template,
      reference: 'x',
      operation: 'eq',
    });
    expect(errors[0].param).toBe('grader.input');
    expect(errors[0].message).toMatch(message);
  });

  it('should reject malformed templates, unknown fields, bad ranges and labels', () => {
    const judgeInput = [{ role: 'critic', content: '{{items.x}}' }];
    const { errors } = validateGrader({
      type: 'label_model',
      name: 'l',
      model: 'm',
      input: judgeInput,
      labels: ['a'],
      passing_labels: ['b'],
      extra: 1,
    });
    expect(errors.map((e) => e.param)).toEqual([
      'grader.extra',
      'grader.input.0.role',
      'grader.input.0.content',
      'grader.passing_labels',
    ]);
    const score = validateGrader({
      type: 'score_model',
      name: 's',
      model: 'm',
      input: [{ role: 'user', content: 'x' }],
      range: [1, 0],
    });
    expect(score.errors[0].param).toBe('grader.range');
    const cos = validateGrader({
      type: 'text_similarity',
      name: 't',
      input: 'a',
      reference: 'b',
      evaluation_metric: 'cosine',
    });
    expect(cos.errors[0].message).toContain('embeddings');
  });

  it('should throw the same errors from createGrader as a typed GraderConfigError', () => {
    let caught: unknown;
    try {
      createGrader({
        type: 'multi',
        name: 'm',
        graders: { a: { ...sc, operation: 'contains' } },
        calculate_output: 'a',
      });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(GraderConfigError);
    expect((caught as GraderConfigError).param).toBe('grader.graders.a.operation');
    expect((caught as GraderConfigError).issues).toHaveLength(1);
  });

  it('should refuse to build a model grader without a judge', () => {
    const g = { type: 'score_model', name: 's', model: 'm', input: [{ role: 'user', content: 'x' }] };
    expect(() => createGrader(g)).toThrow(GraderConfigError);
  });
});
