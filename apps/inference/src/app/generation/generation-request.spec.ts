import { toGeneration } from './generation-request';

const model = { id: 'tt-nano', builtin: 'tt-nano', artifactKey: null };

describe('toGeneration', () => {
  it('should map a chat body: text parts joined, one stop string, JSON mode, max_completion_tokens first', () => {
    const request = toGeneration('chat', 'chatcmpl-1', {
      model,
      body: {
        messages: [
          { role: 'system', content: 'Be brief.' },
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hi ' },
              { type: 'text', text: 'there' },
            ],
            name: 'ann',
          },
        ],
        stop: 'END',
        max_tokens: 9,
        max_completion_tokens: 5,
        response_format: { type: 'json_object' },
        logprobs: true,
        top_logprobs: 2,
        seed: 7,
      },
    });
    expect(request).toEqual({
      id: 'chatcmpl-1',
      model,
      prompts: [
        {
          kind: 'chat',
          messages: [
            { role: 'system', content: 'Be brief.' },
            { role: 'user', content: 'Hi there', name: 'ann' },
          ],
        },
      ],
      n: 1,
      maxTokens: 5,
      maxTokensParam: 'max_completion_tokens',
      temperature: 1,
      topP: 1,
      seed: 7,
      stop: ['END'],
      logprobs: true,
      topLogprobs: 2,
      format: { type: 'json_object' },
      promptParam: 'messages',
    });
  });

  it('should map legacy completions: prompt lists and token prompts, 16 tokens by default, logprobs as a count', () => {
    const texts = toGeneration('completion', 'cmpl-1', {
      model,
      body: { prompt: ['a', 'b'], n: 2, logprobs: 3 },
    });
    expect(texts).toMatchObject({
      prompts: [
        { kind: 'text', text: 'a' },
        { kind: 'text', text: 'b' },
      ],
      n: 2,
      maxTokens: 16,
      logprobs: true,
      topLogprobs: 3,
      format: { type: 'text' },
      promptParam: 'prompt',
    });
    const tokens = toGeneration('completion', 'cmpl-2', { model, body: { prompt: [1, 2, 3], stop: null } });
    expect(tokens).toMatchObject({
      prompts: [{ kind: 'tokens', tokens: [1, 2, 3] }],
      stop: [],
      logprobs: false,
    });
    const rows = toGeneration('completion', 'cmpl-3', { model, body: { prompt: [[1], [2, 3]] } });
    expect(rows.prompts).toEqual([
      { kind: 'tokens', tokens: [1] },
      { kind: 'tokens', tokens: [2, 3] },
    ]);
  });

  it('should leave a chat without a token limit to the model context', () => {
    const request = toGeneration('chat', 'chatcmpl-2', {
      model,
      body: { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'text' } },
    });
    expect(request.maxTokens).toBeNull();
    expect(request.format).toEqual({ type: 'text' });
  });
});
