/** rouge-score's default tokenizer: lowercase, every run of characters outside [a-z0-9] is a separator. */
export function rougeTokens(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, ' ')
    .trim()
    .split(' ')
    .filter((t) => t.length > 0);
}

/**
 * sacrebleu's default `13a` tokenizer (the mteval-v13a.pl rules): case is kept; punctuation and symbols become
 * tokens; `.` and `,` stay inside numbers (3.5, 1,000); a dash after a digit is split off.
 */
export function bleu13aTokens(text: string): string[] {
  let line = text
    .replace(/<skipped>/g, '')
    .replace(/-\n/g, '')
    .replace(/\n/g, ' ');
  if (line.includes('&')) {
    line = line
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>');
  }
  line = ` ${line} `;
  line = line.replace(/([{-~[-` -&(-+:-@/])/g, ' $1 ');
  line = line.replace(/([^0-9])([.,])/g, '$1 $2 ');
  line = line.replace(/([.,])([^0-9])/g, ' $1 $2');
  line = line.replace(/([0-9])(-)/g, '$1 $2 ');
  return line.split(/\s+/).filter((t) => t.length > 0);
}

/** Python's `str.split()`: runs of whitespace separate tokens (what NLTK's GLEU/METEOR callers usually pass). */
export function whitespaceTokens(text: string): string[] {
  return text.split(/\s+/).filter((t) => t.length > 0);
}

/** Multiset of the n-grams of one order, keyed by the tokens joined with U+0001. */
export function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0001');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Σ min(count_a, count_b): the clipped n-gram overlap used by BLEU, GLEU and ROUGE-N. */
export function overlap(a: Map<string, number>, b: Map<string, number>): number {
  let total = 0;
  for (const [key, count] of a) total += Math.min(count, b.get(key) ?? 0);
  return total;
}

/**
 * Length of the longest common subsequence: the readable O(n·m) dynamic programme (reference for `lcsLength`).
 *   L[i][j] = L[i−1][j−1] + 1 if a[i] = b[j], else max(L[i−1][j], L[i][j−1]).
 */
export function lcsLengthDP<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  if (a.length === 0 || b.length === 0) return 0;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = ai === b[j - 1] ? prev[j - 1] + 1 : Math.max(prev[j], cur[j - 1]);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length];
}

/**
 * Length of the longest common subsequence, bit-parallel (Allison & Dix 1986; Hyyrö 2004 — what rapidfuzz uses):
 * O(⌈|a|/32⌉·|b|) word operations instead of |a|·|b| cells. S holds one bit per position of `a`, initially all 1;
 * for each element c of `b`: U = S & match(c); S = (S + U) | (S − U) (multi-word add/subtract with carries).
 * LCS = number of 0 bits in the first |a| bits of S. Tested against `lcsLengthDP` on seeded random inputs.
 */
export function lcsLength<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  if (a.length === 0 || b.length === 0) return 0;
  const words = Math.ceil(a.length / 32);
  const match = new Map<T, Uint32Array>();
  for (let i = 0; i < a.length; i++) {
    let mask = match.get(a[i]);
    if (!mask) match.set(a[i], (mask = new Uint32Array(words)));
    mask[i >>> 5] |= 1 << (i & 31);
  }
  const s = new Uint32Array(words).fill(0xffffffff);
  for (let j = 0; j < b.length; j++) {
    const m = match.get(b[j]);
    if (!m) continue; // U = 0 leaves S unchanged
    let carry = 0;
    let borrow = 0;
    for (let w = 0; w < words; w++) {
      const sw = s[w];
      const u = sw & m[w];
      const sum = sw + (u >>> 0) + carry; // < 2^33
      carry = sum > 0xffffffff ? 1 : 0;
      const diff = sw - (u >>> 0) - borrow; // u ⊆ s, so only the borrow can make it negative
      borrow = diff < 0 ? 1 : 0;
      s[w] = (sum >>> 0) | (diff >>> 0);
    }
  }
  let zeros = 0;
  for (let w = 0; w < words; w++) {
    const bits = Math.min(32, a.length - w * 32);
    const unset = ~s[w] & (bits === 32 ? 0xffffffff : (1 << bits) - 1);
    zeros += popcount(unset >>> 0);
  }
  return zeros;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}
