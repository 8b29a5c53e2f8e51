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

/**
 * ChatML, the format Qwen uses; the built-in models use it with their byte tokenizer. With `tools` it renders them
 * as Qwen 2.5 does, in fewer words (a system block listing each function's JSON, the system message first in it), an assistant
 * message's `tool_calls` as `<tool_call>` blocks of `{"name": …, "arguments": …}`, and `tool` results as their own
 * turns. Without tools the text is plain ChatML.
 */
export const CHATML_TEMPLATE =
  "{% if tools %}{{ '<|im_start|>system\\n' }}{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] + '\\n\\n' }}{% endif %}" +
  "{{ '# Tools\\n\\nYou may call these functions:\\n<tools>' }}" +
  "{% for tool in tools %}{{ '\\n' + (tool | tojson) }}{% endfor %}" +
  "{{ '\\n</tools>\\n\\nTo call one, reply with:\\n<tool_call>\\n" +
  '{"name": <function-name>, "arguments": <args-json-object>}\\n</tool_call><|im_end|>\\n\' }}{% endif %}' +
  "{% for message in messages %}{% if not (tools and loop.first and message['role'] == 'system') %}" +
  "{% if message['role'] == 'assistant' and message['tool_calls'] %}{{ '<|im_start|>assistant\\n' + message['content'] }}" +
  "{% for call in message['tool_calls'] %}{% if message['content'] or not loop.first %}{{ '\\n' }}{% endif %}" +
  "{{ '<tool_call>\\n{\"name\": ' + (call['function']['name'] | tojson) + ', \"arguments\": ' + " +
  "(call['function']['arguments'] | tojson) + '}\\n</tool_call>' }}{% endfor %}{{ '<|im_end|>\\n' }}" +
  "{% else %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endif %}" +
  "{% endif %}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
