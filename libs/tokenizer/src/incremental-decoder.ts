import type { DecodeOptions, Tokenizer } from './types';

/**
 * Turns a stream of generated token ids into text deltas without decoding the whole sequence on every token (which
 * made streaming cost O(n²) per sequence). Each step decodes a short window: the tokens since the last emitted
 * boundary, with the token(s) before it as context, and emits what the window adds beyond that context; a window that
 * ends inside a multi-byte character (decoded as U+FFFD) waits for its next bytes. Context matters for tokenizers whose
 * decoders treat the first token specially (SentencePiece's leading-space rule). The same scheme serves vLLM and TGI.
 *
 * The concatenation of every `push` and the final `flush` equals `tokenizer.decode(all ids, options)` for tokenizers
 * whose decoding of a prefix is a prefix of the decoding (byte-level BPE, the byte tokenizer; tested on both).
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  /** Start of the context window (tokens already emitted, decoded again for context only). */
  private prefixOffset = 0;
  /** End of what has been emitted. */
  private readOffset = 0;
  /** Everything emitted so far. */
  text = '';

  constructor(
    private readonly tokenizer: Tokenizer,
    private readonly options: DecodeOptions = {},
  ) {}

  /** Adds one token; returns the text it completes ('' while a character is still incomplete). */
  push(id: number): string {
    this.ids.push(id);
    const context = this.decode(this.prefixOffset, this.readOffset);
    const window = this.decode(this.prefixOffset, this.ids.length);
    if (window.length <= context.length || window.endsWith('\uFFFD')) return '';
    const delta = window.slice(context.length);
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    this.text += delta;
    return delta;
  }

  /** The text of tokens still held back (an incomplete character decodes as U+FFFD), emitted as is. */
  flush(): string {
    const context = this.decode(this.prefixOffset, this.readOffset);
    const window = this.decode(this.prefixOffset, this.ids.length);
    const delta = window.slice(context.length);
    this.prefixOffset = this.readOffset = this.ids.length;
    this.text += delta;
    return delta;
  }

  private decode(from: number, to: number): string {
    return from === to ? '' : this.tokenizer.decode(this.ids.slice(from, to), this.options);
  }
}
