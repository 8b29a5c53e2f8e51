import { SampleGradingError } from './errors';
import type { GraderItem, GraderSample } from './types';

/**
 * OpenAI grader templates: `{{item.path}}` and `{{sample.output_text}}`, `{{sample.output_json.path}}`,
 * `{{sample.output_tools}}`, `{{sample.choices}}`. Paths are dotted; array indices as `.0` or `[0]`.
 * A string value is inserted as is, any other value JSON-stringified.
 */
const TEMPLATE_RE = /\{\{\s*([^{}]*?)\s*\}\}/g;
const SAMPLE_FIELDS = ['output_text', 'output_json', 'output_tools', 'choices'] as const;

export interface TemplateVariable {
  /** The variable as written between the braces, trimmed: `item.answer`. */
  raw: string;
  namespace: 'item' | 'sample';
  /** Path segments after the namespace; numbers are array indices. */
  path: (string | number)[];
}

/** A field name in a path: letters, digits and `_ - $ @ :` (no spaces, brackets, parentheses or quotes). */
const FIELD_RE = /^[\p{L}\p{N}_$@:-]+$/u;
/** A `{{` with no `}}` before the next brace: an unterminated variable. */
const UNCLOSED_RE = /\{\{(?![^{}]*\}\})/g;

/** Splits `a.b[0].c` / `a.b.0.c` into segments, or returns an error message. */
function parsePath(expr: string): (string | number)[] | string {
  const segments: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]/g;
  let consumed = '';
  for (const m of expr.matchAll(re)) {
    consumed += m[0];
    if (m[2] !== undefined) segments.push(Number(m[2]));
    else segments.push(/^\d+$/.test(m[1]) ? Number(m[1]) : m[1]);
  }
  const expected = expr.replace(/\./g, '');
  if (consumed !== expected || segments.length === 0 || /\.\.|^\.|\.$/.test(expr))
    return `malformed path "${expr}"`;
  const bad = segments.find((seg) => typeof seg === 'string' && !FIELD_RE.test(seg));
  if (bad !== undefined) {
    return `malformed path "${expr}": "${bad}" is not a field name (letters, digits, _ - $ @ :)`;
  }
  return segments;
}

/** Parses one variable; returns an error message when it is not `item.*` or a known `sample.*` field. */
export function parseVariable(raw: string): TemplateVariable | string {
  const segments = parsePath(raw);
  if (typeof segments === 'string') return segments;
  const [head, ...path] = segments;
  if (head === 'item') return { raw, namespace: 'item', path };
  if (head === 'sample') {
    const field = path[0];
    if (typeof field !== 'string' || !(SAMPLE_FIELDS as readonly string[]).includes(field)) {
      return `unknown sample variable "${raw}"; known: ${SAMPLE_FIELDS.map((f) => `sample.${f}`).join(', ')}`;
    }
    if (field === 'output_text' && path.length > 1)
      return `"${raw}": sample.output_text is a string and has no fields`;
    return { raw, namespace: 'sample', path };
  }
  return `unknown template namespace in "{{${raw}}}"; use {{item.<path>}} or {{sample.<field>}}`;
}

/**
 * Every `{{…}}` in a template, parsed; malformed ones come back as `{ raw, error }`, and so does a `{{` that is
 * never closed (`{{item.answer` would otherwise be sent as literal text).
 */
export function templateVariables(template: string): (TemplateVariable | { raw: string; error: string })[] {
  const out: (TemplateVariable | { raw: string; error: string })[] = [];
  for (const m of template.matchAll(UNCLOSED_RE)) {
    const raw = template.slice(m.index, m.index + 40);
    out.push({
      raw,
      error: `unterminated template variable at character ${m.index}: "${raw}" has no closing }}`,
    });
  }
  for (const m of template.matchAll(TEMPLATE_RE)) {
    const parsed = parseVariable(m[1]);
    out.push(typeof parsed === 'string' ? { raw: m[1], error: parsed } : parsed);
  }
  return out;
}

const MISSING = Symbol('missing');

/** Follows `path` into `root`; `MISSING` when a segment does not exist. */
export function lookupPath(root: unknown, path: (string | number)[]): unknown {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return MISSING;
    if (Array.isArray(cur)) {
      const idx = typeof seg === 'number' ? seg : Number.NaN;
      if (!Number.isInteger(idx) || idx < 0 || idx >= cur.length) return MISSING;
      cur = cur[idx];
    } else {
      const key = String(seg);
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return MISSING;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}

export function isMissing(value: unknown): boolean {
  return value === MISSING;
}

/** The value of one variable, or a `SampleGradingError` describing why it has none. */
export function resolveVariable(v: TemplateVariable, sample: GraderSample, item: GraderItem): unknown {
  if (v.namespace === 'item') {
    const value = lookupPath(item, v.path);
    if (value === MISSING || value === undefined) {
      throw new SampleGradingError(`template variable {{${v.raw}}} is missing from the item`, {
        invalid_variable_error: true,
      });
    }
    return value;
  }
  const [field, ...rest] = v.path as [string, ...(string | number)[]];
  const root = (sample as unknown as Record<string, unknown>)[field];
  if (root === undefined) {
    // output_json is absent when the sample is not JSON: OpenAI reports that as a sample parse error.
    const flags = field === 'output_json' ? { sample_parse_error: true } : { invalid_variable_error: true };
    throw new SampleGradingError(`template variable {{${v.raw}}}: the sample has no ${field}`, flags);
  }
  const value = lookupPath(root, rest);
  if (value === MISSING || value === undefined) {
    throw new SampleGradingError(`template variable {{${v.raw}}} is missing from the sample`, {
      invalid_variable_error: true,
    });
  }
  return value;
}

export function stringifyValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Renders a template; throws `SampleGradingError` (invalid_variable_error / sample_parse_error) on a missing variable. */
export function renderTemplate(template: string, sample: GraderSample, item: GraderItem): string {
  return template.replace(TEMPLATE_RE, (_whole, raw: string) => {
    const parsed = parseVariable(raw);
    if (typeof parsed === 'string') throw new SampleGradingError(parsed, { invalid_variable_error: true });
    return stringifyValue(resolveVariable(parsed, sample, item));
  });
}

/** Builds OpenAI's `sample` from a raw model answer: `output_json` is set when the text parses as JSON. */
export function sampleFromText(outputText: string): GraderSample {
  const sample: GraderSample = { output_text: outputText };
  try {
    sample.output_json = JSON.parse(outputText);
  } catch {
    // Not JSON: output_json stays absent and `{{sample.output_json.*}}` is a sample_parse_error.
  }
  return sample;
}
