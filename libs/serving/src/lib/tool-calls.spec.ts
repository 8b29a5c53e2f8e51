import { parseToolCalls, toolCallConstraint } from './tool-calls';

describe('tool calls', () => {
  const names = new Set(['add', 'get_weather']);

  it('should parse calls and the text around them', () => {
    const text =
      'Sure.\n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>\n<tool_call>\n{"name":"get_weather","arguments":{}}\n</tool_call>';
    expect(parseToolCalls(text, names)).toEqual({
      content: 'Sure.',
      calls: [
        { name: 'add', arguments: '{"a":1,"b":2}' },
        { name: 'get_weather', arguments: '{}' },
      ],
    });
  });

  it('should leave replies without a well-formed call of a known function as text', () => {
    expect(parseToolCalls('no call here', names)).toBeNull();
    expect(parseToolCalls('<tool_call>\n{"name": "rm", "arguments": {}}\n</tool_call>', names)).toBeNull();
    expect(parseToolCalls('<tool_call>\n{"name": "add", "arguments": [1]}\n</tool_call>', names)).toBeNull();
    expect(parseToolCalls('<tool_call>\n{"name": "add"\n</tool_call>', names)).toBeNull();
  });

  it('should accept a call written as templates render it (one space between tokens) and refuse other functions', () => {
    const tools = [
      {
        name: 'add',
        parameters: { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] },
      },
      { name: 'get_weather', parameters: null },
    ];
    const spaced = toolCallConstraint(tools);
    expect(spaced.pushText('<tool_call>\n{"name": "add", "arguments": {"a": 12}}\n</tool_call>')).toBe(true);
    expect(spaced.complete).toBe(true);
    expect(toolCallConstraint(tools).pushText('<tool_call>\n{"name":  "add"')).toBe(false);
    expect(toolCallConstraint(tools).pushText('<tool_call>\n{"name": "rm"')).toBe(false);
    const closing = toolCallConstraint(tools);
    closing.pushText('<tool_call>\n{"name": "get_');
    expect(closing.closingSuffix()).toBe('weather","arguments":{}}\n</tool_call>');
  });
});
