/**
 * A push-down automaton that accepts exactly the prefixes of a JSON object text (RFC 8259), one character at a time.
 * Used to constrain decoding for `response_format: {type: "json_object"}`: a candidate token is allowed when every
 * character of its text keeps the output a valid prefix, and near the token budget the generator is forced along
 * `closingSuffix()` so the result always parses.
 */
type Mode =
  | 'start' // nothing yet: whitespace, then '{'
  | 'value' // a value is required here
  | 'value_or_end' // just after '[': a value or ']'
  | 'key_or_end' // just after '{': '"' or '}'
  | 'key' // after ',' in an object: '"'
  | 'colon'
  | 'after_value' // ',' or the closing bracket of the container
  | 'string'
  | 'escape'
  | 'unicode'
  | 'number'
  | 'literal'
  | 'done';

const WS = new Set([' ', '\t', '\n', '\r']);
const NUMBER_PREFIX = /^-?(0|[1-9]\d*)?(\.\d*)?([eE][+-]?\d*)?$/;
const NUMBER_COMPLETE = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

export class JsonPrefix {
  private mode: Mode = 'start';
  private stack: ('{' | '[')[] = [];
  private stringIsKey = false;
  private unicodeLeft = 0;
  private number = '';
  private literal = '';

  clone(): JsonPrefix {
    const copy = new JsonPrefix();
    copy.mode = this.mode;
    copy.stack = [...this.stack];
    copy.stringIsKey = this.stringIsKey;
    copy.unicodeLeft = this.unicodeLeft;
    copy.number = this.number;
    copy.literal = this.literal;
    return copy;
  }

  /** True when the text so far is a complete JSON object (only whitespace may follow). */
  get complete(): boolean {
    return this.mode === 'done';
  }

  /** Feeds a whole string; false (and an unspecified state) when it leaves the language. */
  pushText(text: string): boolean {
    for (const ch of text) if (!this.push(ch)) return false;
    return true;
  }

  push(ch: string): boolean {
    switch (this.mode) {
      case 'start':
        if (WS.has(ch)) return true;
        if (ch !== '{') return false;
        this.stack.push('{');
        this.mode = 'key_or_end';
        return true;
      case 'done':
        return WS.has(ch);
      case 'string':
        if (ch === '"') {
          this.mode = this.stringIsKey ? 'colon' : 'after_value';
          return true;
        }
        if (ch === '\\') {
          this.mode = 'escape';
          return true;
        }
        return ch >= ' '; // control characters must be escaped
      case 'escape':
        if (ch === 'u') {
          this.mode = 'unicode';
          this.unicodeLeft = 4;
          return true;
        }
        if (!'"\\/bfnrt'.includes(ch)) return false;
        this.mode = 'string';
        return true;
      case 'unicode':
        if (!/[0-9a-fA-F]/.test(ch)) return false;
        if (--this.unicodeLeft === 0) this.mode = 'string';
        return true;
      case 'number': {
        if (NUMBER_PREFIX.test(this.number + ch)) {
          this.number += ch;
          return true;
        }
        if (!NUMBER_COMPLETE.test(this.number)) return false;
        this.mode = 'after_value';
        return this.push(ch);
      }
      case 'literal': {
        const next = this.literal + ch;
        if (!['true', 'false', 'null'].some((l) => l.startsWith(next))) return false;
        this.literal = next;
        if (['true', 'false', 'null'].includes(next)) this.mode = 'after_value';
        return true;
      }
      case 'key_or_end':
      case 'key':
        if (WS.has(ch)) return true;
        if (ch === '}' && this.mode === 'key_or_end') return this.close('{');
        if (ch !== '"') return false;
        this.mode = 'string';
        this.stringIsKey = true;
        return true;
      case 'colon':
        if (WS.has(ch)) return true;
        if (ch !== ':') return false;
        this.mode = 'value';
        return true;
      case 'value':
      case 'value_or_end':
        if (WS.has(ch)) return true;
        if (ch === ']' && this.mode === 'value_or_end') return this.close('[');
        return this.startValue(ch);
      case 'after_value':
        if (WS.has(ch)) return true;
        if (ch === ',') {
          this.mode = this.stack[this.stack.length - 1] === '{' ? 'key' : 'value';
          return true;
        }
        if (ch === '}') return this.close('{');
        if (ch === ']') return this.close('[');
        return false;
    }
  }

  /** The shortest text that completes the object from here (e.g. `"}` inside a string value). */
  closingSuffix(): string {
    let out = '';
    const state = this.clone();
    const emit = (text: string) => {
      state.pushText(text);
      out += text;
    };
    for (let guard = 0; guard < 10_000 && !state.complete; guard++) {
      switch (state.mode) {
        case 'start':
          emit('{}');
          break;
        case 'string':
          emit('"');
          break;
        case 'escape':
          emit('n');
          break;
        case 'unicode':
          emit('0');
          break;
        case 'number':
          emit(
            NUMBER_COMPLETE.test(state.number)
              ? state.stack[state.stack.length - 1] === '{'
                ? '}'
                : ']'
              : '0',
          );
          break;
        case 'literal':
          emit(
            (['true', 'false', 'null'].find((l) => l.startsWith(state.literal)) ?? state.literal).slice(
              state.literal.length,
            ),
          );
          break;
        case 'key_or_end':
          emit('}');
          break;
        case 'key':
          emit('"');
          break;
        case 'colon':
          emit(':');
          break;
        case 'value':
          emit('0');
          break;
        case 'value_or_end':
          emit(']');
          break;
        case 'after_value':
          emit(state.stack[state.stack.length - 1] === '{' ? '}' : ']');
          break;
        case 'done':
          break;
      }
    }
    return out;
  }

  private startValue(ch: string): boolean {
    if (ch === '{' || ch === '[') {
      this.stack.push(ch);
      this.mode = ch === '{' ? 'key_or_end' : 'value_or_end';
      return true;
    }
    if (ch === '"') {
      this.mode = 'string';
      this.stringIsKey = false;
      return true;
    }
    if (ch === '-' || (ch >= '0' && ch <= '9')) {
      this.mode = 'number';
      this.number = ch;
      return true;
    }
    if ('tfn'.includes(ch)) {
      this.mode = 'literal';
      this.literal = ch;
      return true;
    }
    return false;
  }

  private close(bracket: '{' | '['): boolean {
    if (this.stack[this.stack.length - 1] !== bracket) return false;
    this.stack.pop();
    this.mode = this.stack.length === 0 ? 'done' : 'after_value';
    return true;
  }
}
