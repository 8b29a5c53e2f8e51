import { Tokenizer as HfCoreTokenizer } from '@huggingface/tokenizers';

import { renderChatTemplate, type TemplateTokens } from './chat-template';
import type {
  ChatMessage,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  Tokenizer,
  TokenizerFiles,
} from './types';

/** A special-token entry of `tokenizer_config.json`: a string or an AddedToken-like object. */
function tokenString(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return null;
}

/** `chat_template` is a string, or a list of named templates of which "default" is the one HF uses. */
function chatTemplateOf(config: Record<string, unknown>): string | null {
  const t = config['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const named = t as { name?: string; template?: string }[];
    return (named.find((x) => x.name === 'default') ?? named[0])?.template ?? null;
  }
  return null;
}

/**
 * A Hugging Face tokenizer (`tokenizer.json` + `tokenizer_config.json`), run by `@huggingface/tokenizers` (pure JS,
 * byte-level BPE and the others HF ships). Chat templates are rendered with `@huggingface/jinja`.
 */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  readonly stopTokenIds: readonly number[];
  readonly specialTokenIds: readonly number[];
  readonly chatTemplate: string | null;
  private readonly core: HfCoreTokenizer;
  private readonly tokens: TemplateTokens;

  constructor(
    private readonly tokenizerJson: Record<string, unknown>,
    private readonly tokenizerConfig: Record<string, unknown>,
    /** Extra stop ids, e.g. from `generation_config.json`'s `eos_token_id`. */
    extraStopIds: readonly number[] = [],
  ) {
    this.core = new HfCoreTokenizer(tokenizerJson, tokenizerConfig);
    const vocab = this.core.get_vocab(true);
    let maxId = -1;
    for (const id of vocab.values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;
    this.tokens = {
      bos_token: tokenString(tokenizerConfig['bos_token']),
      eos_token: tokenString(tokenizerConfig['eos_token']),
      pad_token: tokenString(tokenizerConfig['pad_token']),
    };
    const idOf = (t: string | null | undefined): number | null =>
      t ? (this.core.token_to_id(t) ?? null) : null;
    this.bosTokenId = idOf(this.tokens.bos_token);
    this.eosTokenId = idOf(this.tokens.eos_token);
    this.padTokenId = idOf(this.tokens.pad_token);
    const added = (tokenizerJson['added_tokens'] ?? []) as { id: number; special?: boolean }[];
    this.specialTokenIds = added.filter((t) => t.special).map((t) => t.id);
    const stops = new Set<number>(extraStopIds);
    if (this.eosTokenId !== null) stops.add(this.eosTokenId);
    this.stopTokenIds = [...stops];
    this.chatTemplate = chatTemplateOf(tokenizerConfig);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.core.encode(text, { add_special_tokens: options.addSpecialTokens ?? true }).ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    return this.core.decode([...ids], { skip_special_tokens: options.skipSpecialTokens ?? false });
  }

  tokenToId(token: string): number | undefined {
    return this.core.token_to_id(token);
  }

  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string {
    if (!this.chatTemplate) {
      throw new Error(
        'This tokenizer has no chat_template (tokenizer_config.json); pass a template or use plain completions',
      );
    }
    return renderChatTemplate(this.chatTemplate, messages, this.tokens, options);
  }

  toFiles(): TokenizerFiles {
    return { tokenizerJson: this.tokenizerJson, tokenizerConfig: this.tokenizerConfig };
  }
}
