/** One chat message as OpenAI and HF chat templates see it. Extra keys (tool_calls, name, …) pass through. */
export interface ChatMessage {
  role: string;
  content: string;
  [key: string]: unknown;
}

export interface EncodeOptions {
  /** Add the tokenizer's own special tokens (e.g. a BOS token). HF's default is true; pass false for text
   * already rendered by a chat template, which carries its own special tokens. */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (<|im_end|>, <|eos|>, …) from the text. Default false. */
  skipSpecialTokens?: boolean;
}

export interface ChatTemplateOptions {
  /** Append the assistant prefix so the model continues as the assistant (HF `add_generation_prompt`). */
  addGenerationPrompt?: boolean;
  /** Extra variables for the template (e.g. `tools`, `enable_thinking`). */
  variables?: Record<string, unknown>;
}

/** The files that describe a tokenizer in the Hugging Face layout, as parsed JSON objects. */
export interface TokenizerFiles {
  /** `tokenizer.json` */
  tokenizerJson: Record<string, unknown>;
  /** `tokenizer_config.json` (carries `chat_template`, bos/eos/pad token strings) */
  tokenizerConfig: Record<string, unknown>;
}

/** The tokenizer interface every Tracetune component uses: the built-in byte tokenizer and HF tokenizers. */
export interface Tokenizer {
  /** Number of ids (max id + 1), the minimum embedding rows a model needs. */
  readonly vocabSize: number;
  readonly bosTokenId: number | null;
  readonly eosTokenId: number | null;
  readonly padTokenId: number | null;
  /** Ids that end generation by default (eos and, for chat models, the end-of-turn token). */
  readonly stopTokenIds: readonly number[];
  /** Ids of all special tokens (skipped by `decode(…, { skipSpecialTokens: true })`). */
  readonly specialTokenIds: readonly number[];
  readonly chatTemplate: string | null;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  /** The HF files that reproduce this tokenizer (`saveTokenizer` writes them). */
  toFiles(): TokenizerFiles;
}
