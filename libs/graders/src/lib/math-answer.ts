import { evaluateFormula, parseFormula } from './formula';

/**
 * Final-answer extraction and equivalence for math solutions (our `math_answer` grader).
 * Extraction order: the last `\boxed{…}` / `\fbox{…}` (nested braces balanced), else the text after the last
 * `####` (GSM8K style), else the last number in the text.
 */
export function extractAnswer(text: string): string | null {
  const boxed = lastBoxed(text);
  if (boxed !== null) return boxed.trim();
  const hash = text.lastIndexOf('####');
  if (hash >= 0) {
    const rest = text
      .slice(hash + 4)
      .split('\n')[0]
      .trim();
    if (rest.length > 0) return rest;
  }
  const numbers = text.match(/-?\$?\d[\d,]*(?:\.\d+)?(?:\s*\/\s*\d+)?%?|-?\.\d+%?/g);
  if (!numbers) return null;
  return numbers[numbers.length - 1].replace(/[.,]$/, '');
}

/** Contents of the last `\boxed{…}` or `\fbox{…}`, braces balanced; `null` when there is none or it is unclosed. */
export function lastBoxed(text: string): string | null {
  const re = /\\(?:boxed|fbox)\s*\{/g;
  let start = -1;
  for (const m of text.matchAll(re)) start = (m.index ?? 0) + m[0].length;
  if (start < 0) return null;
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}') {
      depth--;
      if (depth === 0) return text.slice(start, i);
    }
  }
  return null;
}

/** Reference answers may be full solutions (GSM8K's `… #### 72`): take their final answer when they mark one. */
export function referenceAnswer(reference: string): string {
  const boxed = lastBoxed(reference);
  if (boxed !== null) return boxed.trim();
  const hash = reference.lastIndexOf('####');
  if (hash >= 0) return reference.slice(hash + 4).trim();
  return reference.trim();
}

/** Rewrites simple LaTeX into plain text: \frac{a}{b} → (a)/(b), \sqrt{x} → sqrt(x), drops $, \left, \text{…} wrappers. */
export function normalizeAnswer(answer: string): string {
  let s = answer.trim();
  s = s.replace(
    /\\text\{([^{}]*)\}|\\textbf\{([^{}]*)\}|\\mathrm\{([^{}]*)\}/g,
    (_m, a, b, c) => a ?? b ?? c ?? '',
  );
  s = s.replace(/\\[dt]frac/g, '\\frac');
  s = s.replace(/\\left|\\right|\\!|\\,|\\;|\\ |\\\$|\$/g, '');
  s = s.replace(/\^\s*\{?\\circ\}?|°/g, '');
  s = s.replace(/\\%/g, '%');
  s = s.replace(/\\(?:cdot|times)/g, '*');
  s = s.replace(/\\pi/g, 'pi');
  // \frac12 → \frac{1}{2}
  s = s.replace(/\\frac(\d)(\d)/g, '\\frac{$1}{$2}');
  // Innermost first, so \frac{\sqrt{3}}{2} → \frac{sqrt(3)}{2} → (sqrt(3))/(2).
  for (let guard = 0; guard < 10 && /\\(?:frac|sqrt)\{/.test(s); guard++) {
    s = s.replace(/\\sqrt\{([^{}]*)\}/g, 'sqrt($1)');
    s = s.replace(/\\frac\{([^{}]*)\}\{([^{}]*)\}/g, '($1)/($2)');
  }
  s = s.replace(/[{}]/g, (b) => (b === '{' ? '(' : ')'));
  // `x = 5` → `5`: a single-letter variable assigned its value.
  const assign = /^[A-Za-z]\s*=\s*(.+)$/.exec(s);
  if (assign) s = assign[1];
  s = s.replace(/\s+/g, '').replace(/\.$/, '');
  // 1,000,000.5 → 1000000.5 (only a well-formed thousands pattern; `1,2` stays a pair)
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?%?$/.test(s)) s = s.replace(/,/g, '');
  return s;
}

/** Numeric values an answer may mean: `50%` means 0.5 or 50 (references often drop the sign); none if not numeric. */
export function numericValues(normalized: string): number[] {
  const percent = normalized.endsWith('%');
  const body = percent ? normalized.slice(0, -1) : normalized;
  if (body.length === 0 || !/^[-+*/^().\deE\w]+$/.test(body)) return [];
  let value: number;
  try {
    value = evaluateFormula(parseFormula(body), { pi: Math.PI });
  } catch {
    return [];
  }
  if (!Number.isFinite(value)) return [];
  return percent ? [value / 100, value] : [value];
}

/** Equal within `relTol` relative to the larger magnitude (absolute near zero). */
export function numbersClose(a: number, b: number, relTol: number): boolean {
  return Math.abs(a - b) <= relTol * Math.max(1, Math.abs(a), Math.abs(b));
}

/** Whether two final answers mean the same: numerically (within `relTol`), else as normalized strings. */
export function answersEquivalent(answer: string, reference: string, relTol = 1e-6): boolean {
  const a = normalizeAnswer(answer);
  const b = normalizeAnswer(reference);
  if (a.length === 0 || b.length === 0) return false;
  if (a === b) return true;
  const va = numericValues(a);
  const vb = numericValues(b);
  if (va.length > 0 && vb.length > 0) return va.some((x) => vb.some((y) => numbersClose(x, y, relTol)));
  return a.toLowerCase() === b.toLowerCase();
}
