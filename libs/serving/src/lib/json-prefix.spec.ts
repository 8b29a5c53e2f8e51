import { JsonPrefix } from './json-prefix';

function accepts(text: string): boolean {
  return new JsonPrefix().pushText(text);
}

describe('JsonPrefix', () => {
  it.each(['{', ' {"a"', '{"a": [1, 2.5e-3, "x\\u00e9"', '{"a": {"b": null}, "c": tru', '{"k": -0.'])(
    'should accept the prefix %j',
    (text) => {
      expect(accepts(text)).toBe(true);
    },
  );

  it.each([
    '[1]',
    '"x"',
    '{a',
    '{"a" 1',
    '{"a": 01',
    '{"a": tx',
    '{"a": [1,]',
    '{"a": 1}}',
    '{"a": "\u0001"',
  ])('should reject %j', (text) => {
    expect(accepts(text)).toBe(false);
  });

  it('should know when the object is complete', () => {
    const json = new JsonPrefix();
    json.pushText('{"a": [1, {"b": false}]}');
    expect(json.complete).toBe(true);
    expect(json.push(' ')).toBe(true);
    expect(json.push('x')).toBe(false);
  });

  it.each([
    '',
    '{',
    '{"ke',
    '{"key": "val\\',
    '{"k": [1, 2',
    '{"k": -',
    '{"k": {"n": nu',
    '{"k": 1.5e',
    '{"k": "\\u00',
  ])('should complete %j into parseable JSON with closingSuffix', (prefix) => {
    const json = new JsonPrefix();
    expect(json.pushText(prefix)).toBe(true);
    const full = prefix + json.closingSuffix();
    expect(() => JSON.parse(full)).not.toThrow();
    expect(typeof JSON.parse(full)).toBe('object');
  });
});
