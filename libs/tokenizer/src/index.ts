export * from './types';
export { bytesToUnicode } from './byte-level';
export { BYTE_SPECIAL_TOKENS, BYTE_VOCAB_SIZE, ByteTokenizer } from './byte-tokenizer';
export { CHATML_TEMPLATE, renderChatTemplate, type TemplateTokens } from './chat-template';
export { HfTokenizer } from './hf-tokenizer';
export { loadTokenizer, saveTokenizer } from './load';
export { IncrementalDecoder } from './incremental-decoder';
