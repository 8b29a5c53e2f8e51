import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BYTE_VOCAB_SIZE, ByteTokenizer } from './byte-tokenizer';
import { HfTokenizer } from './hf-tokenizer';
import { loadTokenizer, saveTokenizer } from './load';

describe('ByteTokenizer', () => {
  const tok = new ByteTokenizer();

  it('should map ASCII to byte ids and multi-byte characters to their UTF-8 bytes', () => {
    // 'A' = 0x41 = 65, 'é' = U+00E9 = UTF-8 C3 A9 = 195 169
    expect(tok.encode('Aé')).toEqual([65, 195, 169]);
    expect(tok.decode([65, 195, 169])).toBe('Aé');
  });

  it('should encode special-token strings to their ids and skip them on request', () => {
    // ids: <|bos|>=256 <|eos|>=257 <|pad|>=258 <|im_start|>=259 <|im_end|>=260
    const ids = tok.encode('<|im_start|>hi<|im_end|>');
    expect(ids).toEqual([259, 104, 105, 260]);
    expect(tok.decode(ids)).toBe('<|im_start|>hi<|im_end|>');
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('hi');
    expect(tok.vocabSize).toBe(261);
  });

  it('should render the ChatML template with a generation prompt', () => {
    const text = tok.applyChatTemplate([{ role: 'user', content: '2+2?' }], { addGenerationPrompt: true });
    expect(text).toBe('<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n');
  });

  it('should reject ids outside the vocabulary', () => {
    expect(() => tok.decode([BYTE_VOCAB_SIZE])).toThrow(/outside the vocabulary/);
  });

  it('should save as an HF tokenizer.json that the HF tokenizer reads with the same ids', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tt-tok-'));
    try {
      saveTokenizer(tok, dir);
      expect(loadTokenizer(dir)).toBeInstanceOf(ByteTokenizer);
      const files = tok.toFiles();
      const hf = new HfTokenizer(files.tokenizerJson, files.tokenizerConfig);
      const text = '<|im_start|>user\nnaïve café 🙂 x=1\n<|im_end|>';
      expect(hf.encode(text, { addSpecialTokens: false })).toEqual(tok.encode(text));
      expect(hf.decode(tok.encode(text))).toBe(text);
      expect(hf.vocabSize).toBe(BYTE_VOCAB_SIZE);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
