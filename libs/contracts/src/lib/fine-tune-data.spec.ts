import { JsonlValidator, parseFineTuneJsonl, validateFineTuneLine } from './fine-tune-data';

function validate(text: string | Buffer, maxLineBytes = 1024, chunkSize = 7) {
  const validator = new JsonlValidator(maxLineBytes);
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  // Feed in small chunks so line splitting across chunk boundaries is exercised.
  for (let i = 0; i < bytes.length; i += chunkSize) validator.push(bytes.subarray(i, i + chunkSize));
  return validator.finish();
}

const chat = (content = '4') =>
  JSON.stringify({
    messages: [
      { role: 'user', content: '2+2?' },
      { role: 'assistant', content },
    ],
  });
const rft = (answer = '4') => JSON.stringify({ messages: [{ role: 'user', content: '2+2?' }], answer });

describe('JsonlValidator', () => {
  it('should accept a chat file and count examples and byte tokens', () => {
    const report = validate(`${chat()}\n${chat('four')}\n`);
    expect(report).toMatchObject({
      format: 'chat',
      compatible: { supervised: true, reinforcement: false },
      examples: 2,
      errors: [],
    });
    // "2+2?" (4 bytes) + "4" (1) = 5; "2+2?" + "four" (4) = 8
    expect(report.tokens).toEqual({ total: 13, max: 8, mean: 6.5 });
  });

  it('should accept an RFT file and report its item keys', () => {
    const report = validate(`${rft('4')}\n${rft('5')}`);
    expect(report).toMatchObject({
      format: 'rft',
      compatible: { supervised: false, reinforcement: true },
      item_keys: { answer: 2 },
    });
  });

  it('should report invalid JSON with its line number', () => {
    const lines = Array.from({ length: 9 }, () => rft());
    lines[6] = '{"messages": [';
    const report = validate(lines.join('\n'));
    expect(report.format).toBeNull();
    expect(report.errors).toEqual([expect.objectContaining({ line: 7, code: 'invalid_json' })]);
  });

  it('should report an empty file', () => {
    expect(validate('').errors).toEqual([
      expect.objectContaining({ code: 'missing_messages', message: expect.stringContaining('empty') }),
    ]);
    expect(validate('\n\n').error_count).toBe(1);
  });

  it('should report bytes that are not UTF-8', () => {
    const report = validate(
      Buffer.concat([Buffer.from(`${rft()}\n`), Buffer.from([0xff, 0xfe, 0x7b, 0x7d]), Buffer.from('\n')]),
    );
    expect(report.errors).toEqual([expect.objectContaining({ line: 2, code: 'invalid_utf8' })]);
  });

  it('should report an overlong line without holding it', () => {
    const report = validate(`${'x'.repeat(5000)}\n${rft()}`, 100, 1000);
    expect(report.errors).toEqual([expect.objectContaining({ line: 1, code: 'line_too_long' })]);
    expect(report.examples).toBe(1);
  });

  it('should refuse a file that mixes chat and RFT lines', () => {
    const report = validate(`${chat()}\n${rft()}`);
    expect(report.format).toBeNull();
    expect(report.errors[0].code).toBe('format_mismatch');
  });

  it('should cap the reported errors but count them all', () => {
    const report = validate(Array.from({ length: 50 }, () => '[]').join('\n'));
    expect(report.errors).toHaveLength(20);
    expect(report.error_count).toBe(50);
  });
});

describe('validateFineTuneLine', () => {
  it.each([
    [[1, 2], 'invalid_data_type'],
    [{ prompt: 'hi' }, 'missing_messages'],
    [{ messages: [] }, 'missing_messages'],
    [{ messages: [{ role: 'robot', content: 'x' }] }, 'unrecognized_role'],
    [{ messages: [{ role: 'user', content: 'x', mood: 'happy' }] }, 'unrecognized_key'],
    [{ messages: [{ role: 'user' }] }, 'missing_content'],
    [
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: 'y', weight: 2 },
        ],
      },
      'invalid_weight',
    ],
    [{ messages: [{ role: 'user', content: 'x', weight: 1 }] }, 'invalid_weight'],
    [
      {
        messages: [
          { role: 'user', content: 'x' },
          { role: 'assistant', content: 'y' },
        ],
        answer: 1,
      },
      'format_mismatch',
    ],
  ])('should reject %j with %s', (value, code) => {
    const result = validateFineTuneLine(value);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe(code);
  });

  it('should accept text content parts and keep the weight', () => {
    const result = validateFineTuneLine({
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'a' },
            { type: 'text', text: 'b' },
          ],
        },
        { role: 'assistant', content: 'c', weight: 0 },
      ],
    });
    expect(result.ok && result.line.messages).toEqual([
      { role: 'user', content: 'ab' },
      { role: 'assistant', content: 'c', weight: 0 },
    ]);
  });
});

describe('tool calls in chat data', () => {
  const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
  const call = { id: 'c1', type: 'function', function: { name: 'add', arguments: '{"a":1}' } };

  it('should keep tools, parsed tool calls and tool results', () => {
    const result = validateFineTuneLine({
      tools,
      messages: [
        { role: 'user', content: '1+2?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'c1', content: '3' },
        { role: 'assistant', content: '3' },
      ],
    });
    expect(result.ok && result.line.sft).toBe(true);
    expect(result.ok && result.line.tools).toEqual(tools);
    expect(result.ok && result.line.messages[1]).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ id: 'c1', type: 'function', function: { name: 'add', arguments: { a: 1 } } }],
    });
    expect(result.ok && result.line.messages[2]).toEqual({ role: 'tool', content: '3', tool_call_id: 'c1' });
  });

  it.each([
    [
      { messages: [{ role: 'assistant', content: null, tool_calls: [{ type: 'function' }] }] },
      'invalid_message',
    ],
    [
      {
        messages: [
          { role: 'assistant', tool_calls: [{ ...call, function: { name: 'add', arguments: 'nope' } }] },
        ],
      },
      'invalid_message',
    ],
    [{ messages: [{ role: 'user', content: 'x', tool_calls: [call] }] }, 'invalid_message'],
    [
      { messages: [{ role: 'assistant', content: null, function_call: { name: 'add', arguments: '{}' } }] },
      'invalid_message',
    ],
    [{ functions: [], messages: [{ role: 'assistant', content: 'x' }] }, 'unrecognized_key'],
    [{ tools: [{ type: 'code' }], messages: [{ role: 'assistant', content: 'x' }] }, 'invalid_data_type'],
  ])('should reject %j with %s (no call is dropped silently)', (value, code) => {
    const result = validateFineTuneLine(value);
    expect(!result.ok && result.error.code).toBe(code);
  });
});

describe('parseFineTuneJsonl', () => {
  it('should return lines with their grader items', () => {
    expect(parseFineTuneJsonl(`${rft('7')}\n`)[0].item).toEqual({ answer: '7' });
  });
});

describe('preference (DPO) lines', () => {
  const pair = (overrides: Record<string, unknown> = {}) => ({
    input: { messages: [{ role: 'user', content: '2+2?' }] },
    preferred_output: [{ role: 'assistant', content: '4' }],
    non_preferred_output: [{ role: 'assistant', content: '5' }],
    ...overrides,
  });

  it('should accept OpenAI preference pairs and report the file as preference data for DPO only', () => {
    const report = validate([pair(), pair()].map((p) => JSON.stringify(p)).join('\n'));
    expect(report).toMatchObject({
      format: 'preference',
      compatible: { supervised: false, reinforcement: false, dpo: true },
      examples: 2,
      error_count: 0,
    });
    const [line] = parseFineTuneJsonl(JSON.stringify(pair()));
    expect(line.messages).toEqual([{ role: 'user', content: '2+2?' }]);
    expect(line.preference).toEqual({
      chosen: { role: 'assistant', content: '4' },
      rejected: { role: 'assistant', content: '5' },
    });
  });

  it.each([
    ['an unknown top-level key', pair({ extra: 1 }), 'unrecognized_key', /extra/],
    ['no input', pair({ input: undefined }), 'missing_messages', /input/],
    ['an empty prompt', pair({ input: { messages: [] } }), 'missing_messages', /input\.messages/],
    [
      'a prompt that ends with the answer',
      pair({ input: { messages: [{ role: 'assistant', content: 'x' }] } }),
      'format_mismatch',
      /must not end with an assistant/,
    ],
    [
      'two preferred answers',
      pair({
        preferred_output: [
          { role: 'assistant', content: '4' },
          { role: 'assistant', content: '4' },
        ],
      }),
      'invalid_message',
      /preferred_output/,
    ],
    [
      'a rejected answer by the user',
      pair({ non_preferred_output: [{ role: 'user', content: '5' }] }),
      'invalid_message',
      /non_preferred_output\[0\]\.role/,
    ],
    [
      'no rejected answer',
      pair({ non_preferred_output: undefined }),
      'invalid_message',
      /non_preferred_output/,
    ],
    [
      'an answer without content',
      pair({ preferred_output: [{ role: 'assistant' }] }),
      'missing_content',
      /preferred_output\[0\]/,
    ],
  ])('should refuse a line with %s', (_what, line, code, message) => {
    const clean = JSON.parse(JSON.stringify(line)) as unknown;
    const result = validateFineTuneLine(clean);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe(code);
      expect(result.error.message).toMatch(message);
    }
  });

  it('should refuse a file that mixes preference pairs with chat lines', () => {
    const report = validate([JSON.stringify(pair()), chat()].join('\n'));
    expect(report.format).toBeNull();
    expect(report.errors[0]).toMatchObject({ code: 'format_mismatch' });
  });
});
