/**
 * GPT-2's reversible byte → printable-unicode map (`bytes_to_unicode` in openai/gpt-2 `encoder.py`), used by
 * HF ByteLevel pre-tokenizers and decoders. Printable Latin-1 bytes map to themselves; the other 68 bytes map to
 * U+0100 upwards in byte order.
 */
export function bytesToUnicode(): string[] {
  const table: string[] = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    table[b] = printable ? String.fromCharCode(b) : String.fromCharCode(256 + next++);
  }
  return table;
}
