import { Template } from '@huggingface/jinja';

import type { ChatMessage, ChatTemplateOptions } from './types';

/** Special-token strings that HF templates read as variables (`bos_token`, `eos_token`, …). */
export interface TemplateTokens {
  bos_token?: string | null;
  eos_token?: string | null;
  pad_token?: string | null;
}

const compiled = new Map<string, Template>();

/**
 * Renders an HF chat template (Jinja) the way `transformers`' `apply_chat_template(tokenize=False)` does:
 * the variables are `messages`, `add_generation_prompt`, the special-token strings and any extras.
 * Templates are compiled once and cached by source text.
 */
export function renderChatTemplate(
  template: string,
  messages: readonly ChatMessage[],
  tokens: TemplateTokens,
  options: ChatTemplateOptions = {},
): string {
  let tpl = compiled.get(template);
  if (!tpl) {
    tpl = new Template(template);
    compiled.set(template, tpl);
  }
  return tpl.render({
    ...tokens,
    ...options.variables,
    messages: messages.map((m) => ({ ...m })),
    add_generation_prompt: options.addGenerationPrompt ?? false,
  });
}

/** ChatML, the format Qwen uses; the built-in models use it with their byte tokenizer. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
