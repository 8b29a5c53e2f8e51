import { bleu13aTokens, lcsLength, ngramCounts, overlap, rougeTokens, whitespaceTokens } from './tokenize';

/**
 * rapidfuzz `fuzz.ratio(a, b) / 100`: the normalized Indel similarity, 1 − (|a| + |b| − 2·LCS(a, b)) / (|a| + |b|),
 * over Unicode code points, no preprocessing. Two empty strings are identical (1).
 */
export function fuzzyMatch(input: string, reference: string): number {
  const a = Array.from(input);
  const b = Array.from(reference);
  const total = a.length + b.length;
  if (total === 0) return 1;
  return (2 * lcsLength(a, b)) / total;
}

/** ROUGE-N F-measure as Google's `rouge-score` computes it (default tokenizer, no stemmer). */
export function rougeN(prediction: string, target: string, n: number): number {
  const pred = ngramCounts(rougeTokens(prediction), n);
  const targ = ngramCounts(rougeTokens(target), n);
  const hits = overlap(pred, targ);
  const predTotal = [...pred.values()].reduce((s, c) => s + c, 0);
  const targTotal = [...targ.values()].reduce((s, c) => s + c, 0);
  const precision = hits / Math.max(predTotal, 1);
  const recall = hits / Math.max(targTotal, 1);
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/** ROUGE-L (sentence-level LCS) F-measure as `rouge-score` computes it. */
export function rougeL(prediction: string, target: string): number {
  const pred = rougeTokens(prediction);
  const targ = rougeTokens(target);
  if (pred.length === 0 || targ.length === 0) return 0;
  const lcs = lcsLength(pred, targ);
  const precision = lcs / pred.length;
  const recall = lcs / targ.length;
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

/**
 * sacrebleu `sentence_bleu(hyp, [ref]).score / 100`: 13a tokens, n-grams 1..4, `exp` smoothing (each order with no
 * match gets precision 1 / (2^k · total), k counting such orders), effective order (orders the hypothesis is too
 * short for are left out of the geometric mean), brevity penalty exp(1 − r/c) when c < r.
 */
export function sentenceBleu(hypothesis: string, reference: string): number {
  const MAX_ORDER = 4;
  const hyp = bleu13aTokens(hypothesis);
  const ref = bleu13aTokens(reference);
  const correct: number[] = [];
  const total: number[] = [];
  for (let n = 1; n <= MAX_ORDER; n++) {
    const h = ngramCounts(hyp, n);
    correct.push(overlap(h, ngramCounts(ref, n)));
    total.push(Math.max(hyp.length - n + 1, 0));
  }
  if (hyp.length === 0 || correct[0] === 0) return 0;
  const brevityPenalty = hyp.length < ref.length ? Math.exp(1 - ref.length / hyp.length) : 1;
  let smooth = 1;
  let effectiveOrder = 0;
  let logSum = 0;
  for (let n = 0; n < MAX_ORDER; n++) {
    if (total[n] === 0) break;
    effectiveOrder = n + 1;
    let precision: number;
    if (correct[n] === 0) {
      smooth *= 2;
      precision = 1 / (smooth * total[n]);
    } else {
      precision = correct[n] / total[n];
    }
    logSum += Math.log(precision);
  }
  return brevityPenalty * Math.exp(logSum / effectiveOrder);
}

/**
 * NLTK `sentence_gleu([ref], hyp)` (Google-BLEU, Wu et al. 2016): over all 1..4-grams, matches divided by the larger
 * of the hypothesis and reference n-gram totals, i.e. min(precision, recall). Whitespace tokens, case kept.
 */
export function sentenceGleu(hypothesis: string, reference: string): number {
  const hyp = whitespaceTokens(hypothesis);
  const ref = whitespaceTokens(reference);
  let hits = 0;
  let hypTotal = 0;
  let refTotal = 0;
  for (let n = 1; n <= 4; n++) {
    hits += overlap(ngramCounts(hyp, n), ngramCounts(ref, n));
    hypTotal += Math.max(hyp.length - n + 1, 0);
    refTotal += Math.max(ref.length - n + 1, 0);
  }
  const denom = Math.max(hypTotal, refTotal);
  return denom === 0 ? 0 : hits / denom;
}

/**
 * METEOR (Banerjee & Lavie 2005) with NLTK `meteor_score`'s parameters α = 0.9, β = 3, γ = 0.5 and its alignment
 * order (hypothesis and reference scanned from the end, first equal word wins), on lowercased whitespace tokens.
 * Only the exact-match stage: NLTK's Porter-stem and WordNet-synonym stages are not reproduced (no WordNet here),
 * so a hypothesis that differs by inflection or synonyms scores lower than in NLTK.
 *   Fmean = P·R / (α·P + (1 − α)·R),  penalty = γ·(chunks / matches)^β,  score = Fmean·(1 − penalty).
 */
export function meteor(hypothesis: string, reference: string): number {
  const ALPHA = 0.9;
  const BETA = 3;
  const GAMMA = 0.5;
  const hyp = whitespaceTokens(hypothesis.toLowerCase());
  const ref = whitespaceTokens(reference.toLowerCase());
  const refUsed = new Array<boolean>(ref.length).fill(false);
  const matches: [number, number][] = [];
  for (let i = hyp.length - 1; i >= 0; i--) {
    for (let j = ref.length - 1; j >= 0; j--) {
      if (!refUsed[j] && hyp[i] === ref[j]) {
        refUsed[j] = true;
        matches.push([i, j]);
        break;
      }
    }
  }
  if (matches.length === 0) return 0;
  matches.sort((x, y) => x[0] - y[0]);
  let chunks = 1;
  for (let k = 0; k + 1 < matches.length; k++) {
    const contiguous = matches[k + 1][0] === matches[k][0] + 1 && matches[k + 1][1] === matches[k][1] + 1;
    if (!contiguous) chunks++;
  }
  const precision = matches.length / hyp.length;
  const recall = matches.length / ref.length;
  const fmean = (precision * recall) / (ALPHA * precision + (1 - ALPHA) * recall);
  const penalty = GAMMA * (chunks / matches.length) ** BETA;
  return fmean * (1 - penalty);
}

export const TEXT_SIMILARITY_METRICS = {
  fuzzy_match: fuzzyMatch,
  bleu: sentenceBleu,
  gleu: sentenceGleu,
  meteor,
  rouge_1: (a: string, b: string) => rougeN(a, b, 1),
  rouge_2: (a: string, b: string) => rougeN(a, b, 2),
  rouge_3: (a: string, b: string) => rougeN(a, b, 3),
  rouge_4: (a: string, b: string) => rougeN(a, b, 4),
  rouge_5: (a: string, b: string) => rougeN(a, b, 5),
  rouge_l: rougeL,
} satisfies Record<string, (input: string, reference: string) => number>;

export type TextSimilarityMetric = keyof typeof TEXT_SIMILARITY_METRICS;
