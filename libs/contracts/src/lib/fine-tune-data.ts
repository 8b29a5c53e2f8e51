/**
 * Fine-tuning data formats (docs/api-contract.md, "Fine-tuning methods") and their line-by-line validation, shared by
 * the upload validator (api) and the data readers (trainer):
 * - chat / SFT: `{"messages":[…], "tools"?, "parallel_tool_calls"?}` with at least one assistant message; assistant
 *   `tool_calls` and `tool` results are trained on as the chat template renders them (`functions` and
 *   `function_call`, deprecated by OpenAI, are refused);
 * - RFT: `{"messages":[…], <any other keys>}`, the prompt only (the last message is not the assistant's); the other
 *   keys are the grader's `item`;
 * - preference / DPO: `{"input":{"messages":[…], "tools"?, "parallel_tool_calls"?}, "preferred_output":[{assistant}],
 *   "non_preferred_output":[{assistant}]}`: a prompt and two assistant answers, the preferred one first.
 * Checks follow OpenAI's fine-tuning data checks (data type, missing messages, unrecognised roles and keys, missing
 * content, no assistant message, weight 0/1).
 */

export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant', 'tool', 'function'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

const MESSAGE_KEYS = new Set([
  'role',
  'content',
  'name',
  'weight',
  'tool_calls',
  'tool_call_id',
  'function_call',
  'refusal',
]);
const CHAT_TOP_LEVEL_KEYS = new Set(['messages', 'tools', 'functions', 'parallel_tool_calls']);

/** An assistant's tool call as chat templates read it: `arguments` parsed from its JSON text. */
export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: Record<string, unknown> };
}

export interface ChatMessage {
  role: MessageRole;
  content: string;
  name?: string;
  /** SFT only: 0 excludes this assistant message from the loss. */
  weight?: 0 | 1;
  /** Assistant messages: the calls it made (trained on as the chat template renders them). */
  tool_calls?: ChatToolCall[];
  /** `tool` messages: the call this result answers. */
  tool_call_id?: string;
}

export interface LineError {
  line: number;
  code:
    | 'invalid_utf8'
    | 'line_too_long'
    | 'invalid_json'
    | 'invalid_data_type'
    | 'missing_messages'
    | 'invalid_message'
    | 'unrecognized_role'
    | 'unrecognized_key'
    | 'missing_content'
    | 'invalid_weight'
    | 'no_assistant_message'
    | 'format_mismatch';
  message: string;
}

/** A validated line: its messages with text content, and the grader item (the other top-level keys). */
export interface ParsedLine {
  messages: ChatMessage[];
  /** 1-based line number in its file, where the reader knows it. */
  line?: number;
  /** The line's `tools` (functions the conversation may call), for the chat template. */
  tools?: Record<string, unknown>[];
  item: Record<string, unknown>;
  /** Usable for supervised fine-tuning (has an assistant message, only chat keys). */
  sft: boolean;
  /** Usable for reinforcement fine-tuning (a prompt: the last message is not the assistant's). */
  rft: boolean;
  /** A preference pair (DPO): `messages` is the prompt, `preference` the two answers. */
  dpo: boolean;
  preference?: { chosen: ChatMessage; rejected: ChatMessage };
}

type Result = { ok: true; line: ParsedLine } | { ok: false; error: Omit<LineError, 'line'> };

/** Text of a message content: a string, or an array of `{type:"text", text}` parts. */
function contentText(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    const parts = content.map((part) =>
      part &&
      typeof part === 'object' &&
      (part as { type?: unknown }).type === 'text' &&
      typeof (part as { text?: unknown }).text === 'string'
        ? (part as { text: string }).text
        : null,
    );
    return parts.every((p) => p !== null) ? parts.join('') : null;
  }
  return null;
}

type Checked<T> = { ok: true; value: T } | { ok: false; message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/** `tool_calls` of an assistant message: OpenAI's shape, each `arguments` a JSON object text. */
function toolCallsOf(value: unknown, where: string): Checked<ChatToolCall[]> {
  if (!Array.isArray(value)) return { ok: false, message: `${where}.tool_calls must be a list` };
  const calls: ChatToolCall[] = [];
  for (const [i, raw] of value.entries()) {
    const at = `${where}.tool_calls[${i}]`;
    const fn = isRecord(raw) ? raw['function'] : undefined;
    if (!isRecord(raw) || raw['type'] !== 'function' || !isRecord(fn) || typeof fn['name'] !== 'string')
      return { ok: false, message: `${at} must be {id, type: "function", function: {name, arguments}}` };
    let args: unknown;
    try {
      args = JSON.parse(typeof fn['arguments'] === 'string' ? fn['arguments'] : 'null');
    } catch {
      args = null;
    }
    if (!isRecord(args)) return { ok: false, message: `${at}.function.arguments must be a JSON object text` };
    calls.push({
      id: typeof raw['id'] === 'string' ? raw['id'] : `call_${i}`,
      type: 'function',
      function: { name: fn['name'], arguments: args },
    });
  }
  return { ok: true, value: calls };
}

/** A line's `tools`: functions, as the chat template lists them. */
function toolsOf(value: unknown): Checked<Record<string, unknown>[]> {
  const valid =
    Array.isArray(value) &&
    value.every(
      (t) =>
        isRecord(t) &&
        t['type'] === 'function' &&
        isRecord(t['function']) &&
        typeof t['function']['name'] === 'string',
    );
  return valid
    ? { ok: true, value: value as Record<string, unknown>[] }
    : { ok: false, message: '\'tools\' must be a list of {type: "function", function: {name, …}}' };
}

/** Checks a list of chat messages (`path` names it in errors) and returns them with text content. */
function parseMessages(list: unknown[], path: string): ChatMessage[] | Extract<Result, { ok: false }> {
  const messages: ChatMessage[] = [];
  for (const [index, raw] of list.entries()) {
    const where = `${path}[${index}]`;
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
      return { ok: false, error: { code: 'invalid_message', message: `${where} must be an object` } };
    }
    const message = raw as Record<string, unknown>;
    const unknownKey = Object.keys(message).find((key) => !MESSAGE_KEYS.has(key));
    if (unknownKey) {
      return {
        ok: false,
        error: { code: 'unrecognized_key', message: `${where} has an unrecognized key '${unknownKey}'` },
      };
    }
    if (!MESSAGE_ROLES.includes(message['role'] as MessageRole)) {
      return {
        ok: false,
        error: {
          code: 'unrecognized_role',
          message: `${where}.role must be one of ${MESSAGE_ROLES.join(', ')}; got ${JSON.stringify(message['role'] ?? null)}`,
        },
      };
    }
    const role = message['role'] as MessageRole;
    const text = contentText(message['content']);
    if (message['function_call'] !== undefined && message['function_call'] !== null) {
      return {
        ok: false,
        error: { code: 'invalid_message', message: `${where}.function_call is deprecated: use tool_calls` },
      };
    }
    let calls: ChatToolCall[] | undefined;
    if (message['tool_calls'] !== undefined && message['tool_calls'] !== null) {
      const checked = role === 'assistant' ? toolCallsOf(message['tool_calls'], where) : null;
      if (!checked?.ok) {
        const why = checked ? checked.message : `${where}.tool_calls is only allowed on assistant messages`;
        return { ok: false, error: { code: 'invalid_message', message: why } };
      }
      calls = checked.value.length > 0 ? checked.value : undefined;
    }
    const hasToolCall = calls !== undefined;
    if (text === null && !hasToolCall) {
      return { ok: false, error: { code: 'missing_content', message: `${where} is missing text 'content'` } };
    }
    if (message['weight'] !== undefined) {
      if (role !== 'assistant' || (message['weight'] !== 0 && message['weight'] !== 1)) {
        return {
          ok: false,
          error: {
            code: 'invalid_weight',
            message: `${where}.weight must be 0 or 1, on assistant messages only`,
          },
        };
      }
    }
    messages.push({
      role,
      content: text ?? '',
      ...(typeof message['name'] === 'string' ? { name: message['name'] } : {}),
      ...(message['weight'] !== undefined ? { weight: message['weight'] as 0 | 1 } : {}),
      ...(calls ? { tool_calls: calls } : {}),
      ...(typeof message['tool_call_id'] === 'string' ? { tool_call_id: message['tool_call_id'] } : {}),
    });
  }
  return messages;
}

/** Validates one parsed JSON value as a fine-tuning line. */
export function validateFineTuneLine(value: unknown): Result {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, error: { code: 'invalid_data_type', message: 'each line must be a JSON object' } };
  }
  const record = value as Record<string, unknown>;
  if ('input' in record || 'preferred_output' in record || 'non_preferred_output' in record)
    return validatePreferenceLine(record);
  if (!Array.isArray(record['messages']) || record['messages'].length === 0) {
    return { ok: false, error: { code: 'missing_messages', message: "missing a non-empty 'messages' list" } };
  }
  const parsed = parseMessages(record['messages'] as unknown[], 'messages');
  if (!Array.isArray(parsed)) return parsed;
  const messages = parsed;
  if (record['functions'] !== undefined) {
    return {
      ok: false,
      error: { code: 'unrecognized_key', message: "'functions' is deprecated: use 'tools'" },
    };
  }
  let tools: Record<string, unknown>[] | undefined;
  if (record['tools'] !== undefined && record['tools'] !== null) {
    const checked = toolsOf(record['tools']);
    if (!checked.ok) return { ok: false, error: { code: 'invalid_data_type', message: checked.message } };
    tools = checked.value.length > 0 ? checked.value : undefined;
  }
  const item = Object.fromEntries(Object.entries(record).filter(([key]) => key !== 'messages'));
  const onlyChatKeys = Object.keys(record).every((key) => CHAT_TOP_LEVEL_KEYS.has(key));
  const sft = onlyChatKeys && messages.some((m) => m.role === 'assistant');
  const rft = messages[messages.length - 1].role !== 'assistant';
  if (!sft && !rft) {
    const reason = onlyChatKeys
      ? 'has no assistant message'
      : `has keys other than messages (${Object.keys(item).join(', ')}), which only reinforcement data may have, but ends with an assistant message`;
    return {
      ok: false,
      error: {
        code: onlyChatKeys ? 'no_assistant_message' : 'format_mismatch',
        message: `line ${reason}: supervised data needs an assistant message to learn from; reinforcement data needs the prompt only`,
      },
    };
  }
  return { ok: true, line: { messages, item, sft, rft, dpo: false, ...(tools ? { tools } : {}) } };
}

const PREFERENCE_KEYS = new Set(['input', 'preferred_output', 'non_preferred_output']);
const PREFERENCE_INPUT_KEYS = new Set(['messages', 'tools', 'parallel_tool_calls']);

const invalid = (code: LineError['code'], message: string): Extract<Result, { ok: false }> => ({
  ok: false,
  error: { code, message },
});

/** One assistant answer of a preference pair: a list of exactly one assistant message with text content. */
function preferenceAnswer(
  record: Record<string, unknown>,
  key: string,
): ChatMessage | Extract<Result, { ok: false }> {
  const list = record[key];
  if (!Array.isArray(list) || list.length !== 1)
    return invalid('invalid_message', `'${key}' must be a list of exactly one assistant message`);
  const parsed = parseMessages(list, key);
  if (!Array.isArray(parsed)) return parsed;
  if (parsed[0].role !== 'assistant') return invalid('invalid_message', `${key}[0].role must be 'assistant'`);
  return parsed[0];
}

/** A DPO line: the prompt under `input.messages`, then the preferred and the non-preferred assistant answer. */
function validatePreferenceLine(record: Record<string, unknown>): Result {
  const unknownKey = Object.keys(record).find((key) => !PREFERENCE_KEYS.has(key));
  if (unknownKey)
    return invalid('unrecognized_key', `preference data has an unrecognized key '${unknownKey}'`);
  const input = record['input'];
  if (!input || typeof input !== 'object' || Array.isArray(input))
    return invalid('missing_messages', "preference data needs 'input' with a non-empty 'messages' list");
  const inputRecord = input as Record<string, unknown>;
  const inputKey = Object.keys(inputRecord).find((key) => !PREFERENCE_INPUT_KEYS.has(key));
  if (inputKey) return invalid('unrecognized_key', `input has an unrecognized key '${inputKey}'`);
  if (!Array.isArray(inputRecord['messages']) || inputRecord['messages'].length === 0)
    return invalid('missing_messages', "missing a non-empty 'input.messages' list");
  const messages = parseMessages(inputRecord['messages'] as unknown[], 'input.messages');
  if (!Array.isArray(messages)) return messages;
  if (messages[messages.length - 1].role === 'assistant')
    return invalid(
      'format_mismatch',
      'input.messages is the prompt: it must not end with an assistant message',
    );
  const chosen = preferenceAnswer(record, 'preferred_output');
  if (!('role' in chosen)) return chosen;
  const rejected = preferenceAnswer(record, 'non_preferred_output');
  if (!('role' in rejected)) return rejected;
  return {
    ok: true,
    line: { messages, item: {}, sft: false, rft: false, dpo: true, preference: { chosen, rejected } },
  };
}

export type FineTuneFormat = 'chat' | 'rft' | 'preference';

export interface ValidationReport {
  /** `chat` when every line is supervised data, `rft` when every line is a prompt, `preference` when every line is a
   * DPO pair; null when none. */
  format: FineTuneFormat | null;
  /** Which methods the file can feed (`dpo` absent in reports stored before DPO: read as false). */
  compatible: { supervised: boolean; reinforcement: boolean; dpo?: boolean };
  lines: number;
  examples: number;
  /** UTF-8 bytes of message text: the token count of the built-in byte tokenizer (other tokenizers differ). */
  tokens: { total: number; max: number; mean: number };
  /** Keys of the grader items, with how many lines have each (for template checks). */
  item_keys: Record<string, number>;
  /** The first errors, in line order (at most {@link MAX_REPORTED_ERRORS}). */
  errors: LineError[];
  error_count: number;
}

export const MAX_REPORTED_ERRORS = 20;

/**
 * Streaming JSONL validator: feed it bytes as they arrive, then `finish()`. Lines are split on `\n` bytes (which never
 * occur inside a multi-byte UTF-8 sequence), each decoded strictly; a line longer than `maxLineBytes` is reported and
 * skipped without being held in memory, so the whole file is never buffered.
 */
export class JsonlValidator {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private overlong = false;
  private lineNumber = 0;
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private readonly errors: LineError[] = [];
  private errorCount = 0;
  private examples = 0;
  private allSft = true;
  private allRft = true;
  private allDpo = true;
  private tokenTotal = 0;
  private tokenMax = 0;
  private readonly itemKeys: Record<string, number> = {};

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const newline = chunk.indexOf(0x0a, start);
      const end = newline === -1 ? chunk.length : newline;
      this.append(chunk.subarray(start, end));
      if (newline === -1) return;
      this.endLine();
      start = newline + 1;
    }
  }

  finish(): ValidationReport {
    if (this.pendingBytes > 0 || this.overlong) this.endLine();
    if (this.lineNumber === 0 || (this.examples === 0 && this.errorCount === 0)) {
      this.addError({
        line: 0,
        code: 'missing_messages',
        message: 'the file is empty: it needs at least one JSONL line',
      });
    }
    const valid = this.errorCount === 0;
    const supervised = valid && this.allSft;
    const reinforcement = valid && this.allRft;
    const dpo = valid && this.allDpo;
    if (valid && !supervised && !reinforcement && !dpo) {
      this.addError({
        line: 0,
        code: 'format_mismatch',
        message:
          'lines mix formats (supervised chat examples, reinforcement prompts, preference pairs); use one format per file',
      });
    }
    return {
      format: supervised ? 'chat' : reinforcement ? 'rft' : dpo ? 'preference' : null,
      compatible: { supervised, reinforcement, dpo },
      lines: this.lineNumber,
      examples: this.examples,
      tokens: {
        total: this.tokenTotal,
        max: this.tokenMax,
        mean: this.examples ? Math.round((this.tokenTotal / this.examples) * 10) / 10 : 0,
      },
      item_keys: this.itemKeys,
      errors: this.errors,
      error_count: this.errorCount,
    };
  }

  private append(part: Buffer): void {
    if (this.overlong || part.length === 0) return;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      this.overlong = true;
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    this.pending.push(Buffer.from(part));
    this.pendingBytes += part.length;
  }

  private endLine(): void {
    this.lineNumber += 1;
    const line = this.lineNumber;
    const bytes = Buffer.concat(this.pending, this.pendingBytes);
    const overlong = this.overlong;
    this.pending = [];
    this.pendingBytes = 0;
    this.overlong = false;
    if (overlong) {
      this.addError({
        line,
        code: 'line_too_long',
        message: `line ${line} is longer than ${this.maxLineBytes} bytes`,
      });
      return;
    }
    let text: string;
    try {
      text = this.decoder.decode(bytes);
    } catch {
      this.addError({ line, code: 'invalid_utf8', message: `line ${line} is not valid UTF-8` });
      return;
    }
    if (text.trim() === '') return; // blank lines (a trailing newline) are not examples
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      this.addError({
        line,
        code: 'invalid_json',
        message: `line ${line} is not valid JSON: ${(error as Error).message}`,
      });
      return;
    }
    const result = validateFineTuneLine(value);
    if (!result.ok) {
      this.addError({ line, ...result.error, message: `line ${line}: ${result.error.message}` });
      return;
    }
    this.examples += 1;
    this.allSft &&= result.line.sft;
    this.allRft &&= result.line.rft;
    this.allDpo &&= result.line.dpo;
    const pair = result.line.preference
      ? [result.line.preference.chosen, result.line.preference.rejected]
      : [];
    const tokens = [...result.line.messages, ...pair].reduce(
      (sum, m) => sum + Buffer.byteLength(m.content, 'utf8'),
      0,
    );
    this.tokenTotal += tokens;
    this.tokenMax = Math.max(this.tokenMax, tokens);
    for (const key of Object.keys(result.line.item)) this.itemKeys[key] = (this.itemKeys[key] ?? 0) + 1;
  }

  private addError(error: LineError): void {
    this.errorCount += 1;
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push(error);
  }
}

/** Parses a whole JSONL text that is known to be valid (the trainer's reader); throws with the line on failure. */
export function parseFineTuneJsonl(text: string): ParsedLine[] {
  const out: ParsedLine[] = [];
  text.split('\n').forEach((raw, index) => {
    if (raw.trim() === '') return;
    const result = validateFineTuneLine(JSON.parse(raw));
    if (!result.ok) throw new Error(`line ${index + 1}: ${result.error.message}`);
    out.push(result.line);
  });
  return out;
}
