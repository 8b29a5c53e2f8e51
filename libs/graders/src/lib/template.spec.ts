import { SampleGradingError } from './errors';
import { renderTemplate, sampleFromText, templateVariables } from './template';

describe('templates', () => {
  const item = { answer: '42', nested: { list: [{ v: 7 }, { v: 8 }] }, obj: { a: 1 }, n: 3 };

  it('should resolve dotted item paths and array indices', () => {
    expect(
      renderTemplate(
        '{{item.answer}}/{{ item.nested.list[1].v }}/{{item.nested.list.0.v}}',
        { output_text: '' },
        item,
      ),
    ).toBe('42/8/7');
  });

  it('should JSON-stringify non-string values', () => {
    expect(renderTemplate('{{item.obj}} {{item.n}}', { output_text: '' }, item)).toBe('{"a":1} 3');
  });

  it('should resolve sample.output_text and sample.output_json paths', () => {
    const sample = sampleFromText('{"final": {"value": 12}}');
    expect(renderTemplate('{{sample.output_text}}', sample, item)).toBe('{"final": {"value": 12}}');
    expect(renderTemplate('{{sample.output_json.final.value}}', sample, item)).toBe('12');
  });

  it('should flag a missing item variable as invalid_variable_error', () => {
    expect(() => renderTemplate('{{item.missing}}', { output_text: '' }, item)).toThrow(
      expect.objectContaining({ flags: { invalid_variable_error: true } }),
    );
  });

  it('should flag output_json of a non-JSON sample as sample_parse_error', () => {
    let caught: unknown;
    try {
      renderTemplate('{{sample.output_json.x}}', sampleFromText('not json'), item);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SampleGradingError);
    expect((caught as SampleGradingError).flags).toEqual({ sample_parse_error: true });
  });

  it('should report unknown namespaces and sample fields', () => {
    const vars = templateVariables('{{row.answer}} {{sample.text}} {{item.ok}}');
    expect(vars[0]).toMatchObject({ error: expect.stringContaining('unknown template namespace') });
    expect(vars[1]).toMatchObject({ error: expect.stringContaining('unknown sample variable') });
    expect(vars[2]).toMatchObject({ namespace: 'item', path: ['ok'] });
  });
});
