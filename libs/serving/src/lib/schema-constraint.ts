import type { OutputConstraint } from './constraints';
import { deref, type SchemaNode } from './json-schema';

type ObjectNode = Extract<SchemaNode, { kind: 'object' }>;
type ArrayNode = Extract<SchemaNode, { kind: 'array' }>;
type StringNode = Extract<SchemaNode, { kind: 'string' }>;
type NumberNode = Extract<SchemaNode, { kind: 'number' }>;

/** One level of what is being decoded; a stack of frames is one way of reading the text so far. */
type Frame =
  /** Exact text still to come (the wrapping of a tool call). */
  | { t: 'text'; rest: string }
  /** A value of `node`, not started yet. */
  | { t: 'value'; node: SchemaNode; spaced?: boolean }
  /** `next`: the first property that may still come; `key`: the property whose value follows the colon. */
  | {
      t: 'object';
      node: ObjectNode;
      next: number;
      key: number;
      phase: 'first' | 'after' | 'key' | 'colon';
      /** The last character was a space (at most one between tokens). */
      spaced?: boolean;
    }
  | { t: 'array'; node: ArrayNode; count: number; phase: 'first' | 'after'; spaced?: boolean }
  /** `escape`: 0 outside an escape, -1 right after a backslash, n > 0 hex digits of `\u` still to come. */
  | { t: 'string'; node: StringNode; length: number; escape: number }
  | { t: 'number'; node: NumberNode; text: string }
  /** One of `texts` (enum, const, booleans, null, or an object key: then `keys` gives each text's property). */
  | { t: 'literal'; texts: string[]; typed: string; keys: number[] | null };

type Stack = Frame[];

const UNBOUNDED_PREFIX = /^-?(0|[1-9]\d*)?(\.\d*)?([eE][+-]?\d*)?$/;
const UNBOUNDED_COMPLETE = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;
const INTEGER_PREFIX = /^-?(0|[1-9]\d*)?$/;
const INTEGER_COMPLETE = /^-?(0|[1-9]\d*)$/;
/** Longest number text decoded (a stream of digits must end somewhere; bounded integers stay exact). */
const MAX_NUMBER_CHARS = 16;

function cloneStack(stack: Stack): Stack {
  return stack.map((f) => ({ ...f }));
}

function top(stack: Stack): Frame | undefined {
  return stack[stack.length - 1];
}

/** Properties that may come next: from `next` up to and including the first required one. */
function candidateKeys(node: ObjectNode, next: number): number[] {
  const out: number[] = [];
  for (let i = next; i < node.props.length; i++) {
    out.push(i);
    if (node.props[i].required) break;
  }
  return out;
}

function requiredLeft(node: ObjectNode, next: number): number {
  for (let i = next; i < node.props.length; i++) if (node.props[i].required) return i;
  return -1;
}

/** The integers whose decimal text starts with `text` (`-`, `12`, `-3`), as far as MAX_NUMBER_CHARS allows. */
function integerRanges(text: string): [number, number][] {
  const negative = text.startsWith('-');
  const digits = negative ? text.slice(1) : text;
  if (digits === '') return negative ? [[-Number.MAX_SAFE_INTEGER, -1]] : [];
  const v = Number(digits);
  const out: [number, number][] = [];
  const extra = v === 0 ? 0 : MAX_NUMBER_CHARS - text.length;
  for (let k = 0; k <= extra; k++) {
    const lo = v * 10 ** k;
    const hi = k === 0 ? v : (v + 1) * 10 ** k - 1;
    out.push(negative ? [-hi, -lo] : [lo, hi]);
  }
  return out;
}

function numberViable(node: NumberNode, text: string): boolean {
  if (text.length > MAX_NUMBER_CHARS || !/^-?(\d|$)/.test(text)) return false;
  const bounded = node.min !== -Infinity || node.max !== Infinity;
  if (!bounded) {
    if (!(node.integer ? INTEGER_PREFIX : UNBOUNDED_PREFIX).test(text)) return false;
    // An unfinished number (`1.`, `-`, `2e+`) leaves room for the one digit that finishes it.
    return /\d$/.test(text) || text.length <= MAX_NUMBER_CHARS - 3;
  }
  if (!INTEGER_PREFIX.test(text) || text === '-0') return false;
  if (text === '-') return node.min <= -1;
  return integerRanges(text).some(([lo, hi]) => Math.max(lo, node.min) <= Math.min(hi, node.max));
}

function numberComplete(node: NumberNode, text: string): boolean {
  if (!(node.integer ? INTEGER_COMPLETE : UNBOUNDED_COMPLETE).test(text)) return false;
  const value = Number(text);
  return value >= node.min && value <= node.max;
}

/** The shortest text that turns a viable number prefix into a complete number. */
function finishNumber(node: NumberNode, text: string): string {
  if (text === '') return String(Math.min(Math.max(0, node.min), node.max));
  const bounded = node.min !== -Infinity || node.max !== Infinity;
  if (!bounded) return '0';
  if (text === '-') return String(Math.min(-1, node.max)).slice(1);
  for (const [lo, hi] of integerRanges(text)) {
    const a = Math.max(lo, node.min);
    const b = Math.min(hi, node.max);
    if (a <= b) return String(text.startsWith('-') ? b : a).slice(text.length);
  }
  return '0';
}

/** The shortest text of a whole value of `node` (null when none is short enough: a required recursion). */
function minimalValue(node: SchemaNode, depth = 0): string | null {
  if (depth > 16) return null;
  const n = deref(node);
  switch (n.kind) {
    case 'object': {
      const parts: string[] = [];
      for (const p of n.props) {
        if (!p.required) continue;
        const value = minimalValue(p.node, depth + 1);
        if (value === null) return null;
        parts.push(`${JSON.stringify(p.key)}:${value}`);
      }
      return `{${parts.join(',')}}`;
    }
    case 'array': {
      if (n.min === 0) return '[]';
      const item = minimalValue(n.items, depth + 1);
      return item === null ? null : `[${Array<string>(n.min).fill(item).join(',')}]`;
    }
    case 'string':
      return `"${'a'.repeat(n.min)}"`;
    case 'number':
      return finishNumber(n, '');
    case 'literal':
      return shortest(n.texts);
    case 'anyOf':
      return shortest(n.options.map((o) => minimalValue(o, depth + 1)));
    case 'ref':
      return null;
  }
}

function shortest(texts: (string | null)[]): string | null {
  let best: string | null = null;
  for (const t of texts) if (t !== null && (best === null || t.length < best.length)) best = t;
  return best;
}

/** Feeds one character to one reading; returns the readings it leads to (none: rejected; several: an anyOf). */
function feed(stack: Stack, ch: string): Stack[] {
  const frame = top(stack);
  if (!frame) return [];
  // Between tokens one space may stand (`{"a": 1, "b": 2}`, as Python's json.dumps and templates' tojson write it).
  if (frame.t === 'object' || frame.t === 'array' || frame.t === 'value') {
    if (ch === ' ') {
      if (frame.spaced) return [];
      frame.spaced = true;
      return [stack];
    }
    frame.spaced = false;
  }
  switch (frame.t) {
    case 'text':
      if (frame.rest[0] !== ch) return [];
      frame.rest = frame.rest.slice(1);
      if (frame.rest === '') stack.pop();
      return [stack];
    case 'value':
      return startValue(stack, frame.node, ch);
    case 'literal':
      return feedLiteral(stack, frame, ch);
    case 'number':
      if (numberViable(frame.node, frame.text + ch)) {
        frame.text += ch;
        return [stack];
      }
      if (!numberComplete(frame.node, frame.text)) return [];
      stack.pop();
      return feed(stack, ch);
    case 'string':
      return feedString(stack, frame, ch) ? [stack] : [];
    case 'object':
      return feedObject(stack, frame, ch);
    case 'array':
      return feedArray(stack, frame, ch);
  }
}

function startValue(stack: Stack, node: SchemaNode, ch: string): Stack[] {
  const n = deref(node);
  if (n.kind === 'anyOf') {
    return n.options.flatMap((option) => {
      const copy = cloneStack(stack);
      copy[copy.length - 1] = { t: 'value', node: option };
      return feed(copy, ch);
    });
  }
  stack.pop();
  switch (n.kind) {
    case 'object':
      if (ch !== '{') return [];
      stack.push({ t: 'object', node: n, next: 0, key: -1, phase: 'first' });
      return [stack];
    case 'array':
      if (ch !== '[') return [];
      stack.push({ t: 'array', node: n, count: 0, phase: 'first' });
      return [stack];
    case 'string':
      if (ch !== '"') return [];
      stack.push({ t: 'string', node: n, length: 0, escape: 0 });
      return [stack];
    case 'number':
      if (!numberViable(n, ch)) return [];
      stack.push({ t: 'number', node: n, text: ch });
      return [stack];
    default:
      stack.push({ t: 'literal', texts: n.kind === 'literal' ? n.texts : [], typed: '', keys: null });
      return feed(stack, ch);
  }
}

function feedLiteral(stack: Stack, frame: Extract<Frame, { t: 'literal' }>, ch: string): Stack[] {
  const next = frame.typed + ch;
  if (frame.texts.some((t) => t.startsWith(next))) {
    frame.typed = next;
    const exact = frame.texts.indexOf(next);
    if (exact >= 0 && !frame.texts.some((t) => t !== next && t.startsWith(next))) endLiteral(stack, exact);
    return [stack];
  }
  const exact = frame.texts.indexOf(frame.typed);
  if (exact < 0) return [];
  endLiteral(stack, exact);
  return feed(stack, ch);
}

function endLiteral(stack: Stack, index: number): void {
  const frame = stack.pop() as Extract<Frame, { t: 'literal' }>;
  const parent = top(stack);
  if (frame.keys && parent?.t === 'object') {
    parent.key = frame.keys[index];
    parent.next = parent.key + 1;
    parent.phase = 'colon';
  }
}

function feedString(stack: Stack, frame: Extract<Frame, { t: 'string' }>, ch: string): boolean {
  if (frame.escape === -1) {
    if (ch === 'u') frame.escape = 4;
    else if ('"\\/bfnrt'.includes(ch)) {
      frame.escape = 0;
      frame.length++;
    } else return false;
    return true;
  }
  if (frame.escape > 0) {
    if (!/[0-9a-fA-F]/.test(ch)) return false;
    if (--frame.escape === 0) frame.length++;
    return true;
  }
  if (ch === '"') {
    if (frame.length < frame.node.min) return false;
    stack.pop();
    return true;
  }
  if (frame.length >= frame.node.max || ch < ' ') return false;
  if (ch === '\\') frame.escape = -1;
  else frame.length++;
  return true;
}

function feedObject(stack: Stack, frame: Extract<Frame, { t: 'object' }>, ch: string): Stack[] {
  const { node } = frame;
  if (frame.phase === 'colon') {
    if (ch !== ':') return [];
    frame.phase = 'after';
    stack.push({ t: 'value', node: node.props[frame.key].node });
    return [stack];
  }
  if (ch === '}' && frame.phase !== 'key' && requiredLeft(node, frame.next) < 0) {
    stack.pop();
    return [stack];
  }
  if (ch === ',' && frame.phase === 'after') {
    if (frame.next >= node.props.length) return [];
    frame.phase = 'key';
    return [stack];
  }
  if (frame.phase === 'after') return [];
  const keys = candidateKeys(node, frame.next);
  if (keys.length === 0) return [];
  const texts = keys.map((k) => JSON.stringify(node.props[k].key));
  stack.push({ t: 'literal', texts, typed: '', keys });
  return feed(stack, ch);
}

function feedArray(stack: Stack, frame: Extract<Frame, { t: 'array' }>, ch: string): Stack[] {
  const { node } = frame;
  if (ch === ']' && frame.count >= node.min) {
    stack.pop();
    return [stack];
  }
  if (frame.phase === 'after') {
    if (ch !== ',' || frame.count >= node.max) return [];
    frame.count++;
    stack.push({ t: 'value', node: node.items });
    return [stack];
  }
  if (node.max === 0) return [];
  frame.count = 1;
  frame.phase = 'after';
  stack.push({ t: 'value', node: node.items });
  return feed(stack, ch);
}

/** The next text that moves a reading toward its end by the shortest route (null: it cannot end). */
function closingStep(stack: Stack): string | null {
  const frame = top(stack) as Frame;
  switch (frame.t) {
    case 'text':
      return frame.rest;
    case 'value':
      return minimalValue(frame.node);
    case 'literal': {
      const rest = shortest(frame.texts.filter((t) => t.startsWith(frame.typed)));
      return rest === null ? null : rest.slice(frame.typed.length);
    }
    case 'number':
      return finishNumber(frame.node, frame.text);
    case 'string':
      if (frame.escape === -1) return 'n';
      if (frame.escape > 0) return '0'.repeat(frame.escape);
      return frame.length < frame.node.min ? 'a' : '"';
    case 'object': {
      if (frame.phase === 'colon') return ':';
      const required = requiredLeft(frame.node, frame.next);
      if (frame.phase === 'after') return required < 0 ? '}' : ',';
      const key = required >= 0 ? required : frame.next;
      if (frame.phase === 'first' && required < 0) return '}';
      return JSON.stringify(frame.node.props[key].key);
    }
    case 'array':
      if (frame.count < frame.node.min) {
        return frame.phase === 'first' ? minimalValue(frame.node.items) : ',';
      }
      return ']';
  }
}

function closingOf(reading: Stack): string | null {
  let stack = cloneStack(reading);
  let out = '';
  for (let guard = 0; guard < 4096; guard++) {
    const frame = top(stack);
    if (!frame) return out;
    if (frame.t === 'number' && numberComplete(frame.node, frame.text)) {
      stack.pop();
      continue;
    }
    const text = closingStep(stack);
    if (text === null) return null;
    let readings: Stack[] = [stack];
    for (const ch of text) readings = readings.flatMap((r) => feed(r, ch));
    if (readings.length === 0) return null;
    stack = readings[0];
    out += text;
  }
  return null;
}

/**
 * Decodes text that matches a compiled JSON schema (json-schema.ts), optionally wrapped in fixed text (a tool call's
 * `<tool_call>` tags). The state is the set of readings of the text so far — several only inside an `anyOf` whose
 * options start alike — and a character is accepted when some reading accepts it.
 */
export class SchemaConstraint implements OutputConstraint {
  private constructor(private readings: Stack[]) {}

  /** A value of `node`, preceded by `before` and followed by `after`. */
  static of(node: SchemaNode, before = '', after = ''): SchemaConstraint {
    const stack: Stack = [];
    if (after) stack.push({ t: 'text', rest: after });
    stack.push({ t: 'value', node });
    if (before) stack.push({ t: 'text', rest: before });
    return new SchemaConstraint([stack]);
  }

  /** Any one of several constraints' languages (tool calls of different functions). */
  static anyOf(choices: SchemaConstraint[]): SchemaConstraint {
    return new SchemaConstraint(choices.flatMap((c) => c.readings.map(cloneStack)));
  }

  get complete(): boolean {
    return this.readings.some((r) => r.length === 0);
  }

  pushText(text: string): boolean {
    for (const ch of text) {
      this.readings = this.readings.flatMap((r) => feed(cloneStack(r), ch));
      if (this.readings.length === 0) return false;
    }
    return true;
  }

  clone(): SchemaConstraint {
    return new SchemaConstraint(this.readings.map(cloneStack));
  }

  closingSuffix(): string {
    return shortest(this.readings.map(closingOf)) ?? '';
  }
}
