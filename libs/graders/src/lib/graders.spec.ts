import { GraderPool } from './pool/grader-pool';
import { createGrader } from './registry';
import { sampleFromText } from './template';

const sample = (text: string) => sampleFromText(text);

describe('graders built from JSON', () => {
  describe('string_check', () => {
    const make = (operation: string, reference = '{{item.answer}}') =>
      createGrader({
        type: 'string_check',
        name: 'sc',
        input: '{{sample.output_text}}',
        reference,
        operation,
      });

    it.each([
      ['eq', 'Paris', 'Paris', 1],
      ['eq', 'paris', 'Paris', 0],
      ['ne', 'London', 'Paris', 1],
      ['neq', 'Paris', 'Paris', 0],
      ['like', 'It is Paris.', 'Paris', 1],
      ['like', 'It is paris.', 'Paris', 0],
      ['ilike', 'IT IS PARIS', 'Paris', 1],
      ['ilike', 'Lyon', 'Paris', 0],
    ])('should score %s(%j, %j) = %d', async (operation, output, answer, expected) => {
      const r = await make(operation).grade(sample(output), { answer });
      expect(r.score).toBe(expected);
      expect(r.errors.invalid_variable_error).toBe(false);
    });

    it('should score 0 with invalid_variable_error when the item lacks the variable', async () => {
      const r = await make('eq').grade(sample('Paris'), { other: 1 });
      expect(r.score).toBe(0);
      expect(r.errors.invalid_variable_error).toBe(true);
      expect(r.errorDetails[0]).toContain('item.answer');
    });
  });

  describe('text_similarity', () => {
    it('should score with the metric and report pass_threshold', async () => {
      const g = createGrader({
        type: 'text_similarity',
        name: 'ts',
        input: '{{sample.output_text}}',
        reference: '{{item.ref}}',
        evaluation_metric: 'fuzzy_match',
        pass_threshold: 0.9,
      });
      // 2·14 / 29 = 0.9655 ≥ 0.9
      const r = await g.grade(sample('this is a test'), { ref: 'this is a test!' });
      expect(r.score).toBeCloseTo(28 / 29, 12);
      expect(r.passed).toBe(true);
      const low = await g.grade(sample('xyz'), { ref: 'this is a test!' });
      expect(low.passed).toBe(false);
    });

    it('should run every metric on a pair of texts', async () => {
      for (const metric of [
        'bleu',
        'gleu',
        'meteor',
        'rouge_1',
        'rouge_2',
        'rouge_3',
        'rouge_4',
        'rouge_5',
        'rouge_l',
      ]) {
        const g = createGrader({
          type: 'text_similarity',
          name: 't',
          input: '{{sample.output_text}}',
          reference: '{{item.r}}',
          evaluation_metric: metric,
        });
        const same = await g.grade(sample('the cat sat on the mat today'), {
          r: 'the cat sat on the mat today',
        });
        const other = await g.grade(sample('completely unrelated words'), {
          r: 'the cat sat on the mat today',
        });
        expect(same.score).toBeGreaterThan(0.9);
        expect(other.score).toBe(0);
      }
    });
  });

  describe('math_answer', () => {
    const g = createGrader({
      type: 'math_answer',
      name: 'math',
      input: '{{sample.output_text}}',
      reference: '{{item.answer}}',
    });

    it('should score a boxed answer equal to the reference', async () => {
      expect((await g.grade(sample('… so \\boxed{\\frac{1}{2}}'), { answer: '0.5' })).score).toBe(1);
      expect((await g.grade(sample('#### 1,000'), { answer: '48 + 952 = 1000\n#### 1000' })).score).toBe(1);
      expect((await g.grade(sample('the answer is 7'), { answer: 8 })).score).toBe(0);
    });

    it('should score 0 without an error when there is no answer', async () => {
      const r = await g.grade(sample('I do not know'), { answer: '3' });
      expect(r.score).toBe(0);
      expect(Object.values(r.errors).some((v) => v === true)).toBe(false);
    });
  });

  describe('javascript', () => {
    const pool = new GraderPool({
      threads: 1,
      timeoutMs: 100,
      memoryLimitBytes: { javascript: 16 * 1024 * 1024 },
    });
    afterAll(() => pool.close());
    const make = (source: string, timeoutMs?: number) =>
      createGrader({ type: 'javascript', name: 'js', source, timeout_ms: timeoutMs }, { code: pool });

    it('should return the score of grade(sample, item)', async () => {
      const g = make(
        'function grade(sample, item) { return sample.output_text.trim() === item.answer ? 1 : 0.2; }',
      );
      expect((await g.grade(sample(' 4 '), { answer: '4' })).score).toBe(1);
      expect((await g.grade(sample('5'), { answer: '4' })).score).toBe(0.2);
    });

    it('should count a throw as python_grader_runtime_error with details', async () => {
      const r = await make('function grade() { throw new Error("bad"); }').grade(sample('x'), {});
      expect(r.score).toBe(0);
      expect(r.errors.python_grader_runtime_error).toBe(true);
      expect(r.errors.python_grader_runtime_error_details).toBe('Error: bad');
    });

    it('should count a string result as a runtime error', async () => {
      const r = await make('function grade() { return "1"; }').grade(sample('x'), {});
      expect(r.score).toBe(0);
      expect(r.errors.python_grader_runtime_error_details).toContain('returned a string');
    });

    it('should stop an infinite loop and count unresponsive_reward_error', async () => {
      const t0 = Date.now();
      const r = await make('function grade() { for (;;) {} }').grade(sample('x'), {});
      expect(Date.now() - t0).toBeLessThan(2000);
      expect(r.score).toBe(0);
      expect(r.errors.unresponsive_reward_error).toBe(true);
    });

    it('should stop unbounded allocation with a counted error', async () => {
      const r = await make(
        'function grade() { let s = []; for (;;) s.push("x".repeat(1e5) + s.length); }',
        10_000,
      ).grade(sample('x'), {});
      expect(r.score).toBe(0);
      expect(r.errors.python_grader_runtime_error).toBe(true);
      expect(r.errors.python_grader_runtime_error_details).toBe('memory limit exceeded');
    });

    it('should see no process, require or fetch', async () => {
      const g = make(
        'function grade() { return typeof process + typeof require + typeof fetch === "undefinedundefinedundefined"; }',
      );
      expect((await g.grade(sample('x'), {})).score).toBe(1);
      const r = await make('function grade() { return require("fs"); }').grade(sample('x'), {});
      expect(r.errors.python_grader_runtime_error_details).toContain('ReferenceError');
    });
  });

  describe('multi', () => {
    const multi = {
      type: 'multi',
      name: 'combo',
      graders: {
        exact: {
          type: 'string_check',
          name: 'exact',
          input: '{{sample.output_text}}',
          reference: '{{item.answer}}',
          operation: 'eq',
        },
        fuzzy: {
          type: 'text_similarity',
          name: 'fuzzy',
          input: '{{sample.output_text}}',
          reference: '{{item.answer}}',
          evaluation_metric: 'fuzzy_match',
        },
      },
      calculate_output: '0.5 * exact + 0.5 * fuzzy ^ 2',
    };

    it('should combine sub-grader scores with the formula', async () => {
      const r = await createGrader(multi).grade(sample('abcd'), { answer: 'abce' });
      // exact = 0; fuzzy = 2·3/8 = 0.75 → 0.5·0 + 0.5·0.75² = 0.28125
      expect(r.subScores).toEqual({ exact: 0, fuzzy: 0.75 });
      expect(r.score).toBeCloseTo(0.28125, 12);
    });

    it('should accept the SDK single-grader shape, named by the grader name', async () => {
      const g = createGrader({
        type: 'multi',
        name: 'one',
        graders: {
          type: 'string_check',
          name: 'exact',
          input: '{{sample.output_text}}',
          reference: 'a',
          operation: 'eq',
        },
        calculate_output: '2 * exact',
      });
      expect((await g.grade(sample('a'), {})).score).toBe(2);
    });

    it('should propagate a sub-grader error and score 0', async () => {
      const r = await createGrader(multi).grade(sample('abcd'), {});
      expect(r.score).toBe(0);
      expect(r.errors.invalid_variable_error).toBe(true);
    });

    it('should flag a non-finite formula result', async () => {
      const g = createGrader({ ...multi, calculate_output: 'exact / fuzzy' });
      const r = await g.grade(sample('x'), { answer: 'y' });
      // exact = 0, fuzzy = 0 → 0/0 = NaN
      expect(r.score).toBe(0);
      expect(r.errors.other_error).toBe(true);
    });
  });
});
