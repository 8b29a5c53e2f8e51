import { ByteTokenizer } from './byte-tokenizer';

describe('the default chat template (ChatML)', () => {
  const tok = new ByteTokenizer();

  it('should render plain conversations as ChatML', () => {
    const text = tok.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      { addGenerationPrompt: true },
    );
    expect(text).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n',
    );
  });

  it('should render tools, tool calls and tool results', () => {
    const tools = [{ type: 'function', function: { name: 'add', parameters: { type: 'object' } } }];
    const text = tok.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: '1+2?' },
        {
          role: 'assistant',
          content: '',
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'add', arguments: { a: 1, b: 2 } } }],
        },
        { role: 'tool', content: '3', tool_call_id: 'c1' },
      ],
      { addGenerationPrompt: true, variables: { tools } },
    );
    expect(text.startsWith('<|im_start|>system\nBe brief.\n\n# Tools\n')).toBe(true);
    expect(text).toContain(
      '<tools>\n{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}\n</tools>',
    );
    expect(text).toContain(
      '<|im_start|>user\n1+2?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call><|im_end|>\n<|im_start|>tool\n3<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(text.match(/Be brief/g)).toHaveLength(1);
  });
});
