import { bytesToUnicode } from './byte-level';
import { CHATML_TEMPLATE, renderChatTemplate } from './chat-template';
import type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
  TokenizerFiles,
} from './types';

/** The built-in byte tokenizer's special tokens, in id order after the 256 byte ids. */
export const BYTE_SPECIAL_TOKENS = ['<|bos|>', '<|eos|>', '<|pad|>', '<|im_start|>', '<|im_end|>'] as const;
export const BYTE_VOCAB_SIZE = 256 + BYTE_SPECIAL_TOKENS.length; // 261

const BOS = 256;
const EOS = 257;
const PAD = 258;
const IM_END = 260;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Built-in tokenizer of the `tt-*` models: id = byte value for 0..255, then the specials above. Special-token
 * strings in the text encode to their ids (as HF added tokens do), everything else to its UTF-8 bytes. It never
 * adds BOS by itself (like Qwen), so `addSpecialTokens` has no effect. It saves as a valid HF `tokenizer.json`
 * (ByteLevel BPE with no merges, vocab ordered so that id = byte), so the HF loader reads it back with identical ids.
 */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly bosTokenId = BOS;
  readonly eosTokenId = EOS;
  readonly padTokenId = PAD;
  readonly stopTokenIds: readonly number[] = [EOS, IM_END];
  readonly specialTokenIds: readonly number[] = BYTE_SPECIAL_TOKENS.map((_, i) => 256 + i);
  readonly chatTemplate = CHATML_TEMPLATE;
  private readonly specialSplit = new RegExp(`(${BYTE_SPECIAL_TOKENS.map(escapeRegExp).join('|')})`);
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });

  encode(text: string, _options?: EncodeOptions): number[] {
    const ids: number[] = [];
    for (const part of text.split(this.specialSplit)) {
      if (part === '') continue;
      const special = this.tokenToSpecialId(part);
      if (special !== undefined) ids.push(special);
      else for (const b of this.encoder.encode(part)) ids.push(b);
    }
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length) out += this.decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      if (id >= 0 && id < 256) bytes.push(id);
      else {
        flush();
        const special = BYTE_SPECIAL_TOKENS[id - 256];
        if (special === undefined)
          throw new Error(`ByteTokenizer: id ${id} is outside the vocabulary (0..${BYTE_VOCAB_SIZE - 1})`);
        if (!options.skipSpecialTokens) out += special;
      }
    }
    flush();
    return out;
  }

  tokenToId(token: string): number | undefined {
    const special = this.tokenToSpecialId(token);
    if (special !== undefined) return special;
    const bytes = this.encoder.encode(token);
    return bytes.length === 1 ? bytes[0] : undefined;
  }

  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string {
    return renderChatTemplate(
      this.chatTemplate,
      messages,
      { bos_token: '<|bos|>', eos_token: '<|eos|>', pad_token: '<|pad|>' },
      options,
    );
  }

  toFiles(): TokenizerFiles {
    const byteChars = bytesToUnicode();
    const vocab: Record<string, number> = {};
    byteChars.forEach((ch, b) => (vocab[ch] = b));
    const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false };
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: BYTE_SPECIAL_TOKENS.map((content, i) => ({
        id: 256 + i,
        content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      })),
      normalizer: null,
      pre_tokenizer: byteLevel,
      post_processor: byteLevel,
      decoder: byteLevel,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        continuing_subword_prefix: '',
        end_of_word_suffix: '',
        fuse_unk: false,
        byte_fallback: false,
        ignore_merges: false,
        vocab,
        merges: [],
      },
    };
    const tokenizerConfig = {
      tokenizer_class: 'PreTrainedTokenizerFast',
      add_bos_token: false,
      bos_token: '<|bos|>',
      eos_token: '<|eos|>',
      pad_token: '<|pad|>',
      clean_up_tokenization_spaces: false,
      model_max_length: 1 << 20,
      chat_template: this.chatTemplate,
      tracetune_tokenizer: 'byte',
    };
    return { tokenizerJson, tokenizerConfig };
  }

  private tokenToSpecialId(token: string): number | undefined {
    const i = (BYTE_SPECIAL_TOKENS as readonly string[]).indexOf(token);
    return i < 0 ? undefined : 256 + i;
  }
}
