import { fuzzyMatch, meteor, rougeL, rougeN, sentenceBleu, sentenceGleu } from './metrics';
import { bleu13aTokens, rougeTokens } from './tokenize';

describe('text similarity metrics', () => {
  describe('fuzzy_match (rapidfuzz fuzz.ratio / 100)', () => {
    it("should match rapidfuzz's documented example", () => {
      // rapidfuzz docs: fuzz.ratio("this is a test", "this is a test!") = 96.55172413793103
      // Indel: |a| = 14, |b| = 15, LCS = 14 → 2·14 / 29 = 0.9655172413793103
      expect(fuzzyMatch('this is a test', 'this is a test!')).toBeCloseTo(0.9655172413793103, 12);
    });

    it('should score identical strings 1 and disjoint strings 0', () => {
      expect(fuzzyMatch('abc', 'abc')).toBe(1);
      expect(fuzzyMatch('', '')).toBe(1);
      expect(fuzzyMatch('abc', 'xyz')).toBe(0);
      // "kitten" vs "sitting": LCS = "ittn" = 4 → 2·4 / (6 + 7) = 8/13
      expect(fuzzyMatch('kitten', 'sitting')).toBeCloseTo(8 / 13, 12);
    });
  });

  describe('ROUGE (rouge-score)', () => {
    // rouge-score README: scorer.score('The quick brown fox jumps over the lazy dog',  # target
    //                                  'The quick brown dog jumps on the log.')        # prediction
    // rouge1: P = 0.75, R = 0.6666666666666666, F = 0.7058823529411765
    // rougeL: P = 0.625, R = 0.5555555555555556, F = 0.5882352941176471
    const target = 'The quick brown fox jumps over the lazy dog';
    const prediction = 'The quick brown dog jumps on the log.';

    it('should reproduce the README rouge1 F-measure', () => {
      expect(rougeN(prediction, target, 1)).toBeCloseTo(0.7058823529411765, 12);
    });

    it('should reproduce the README rougeL F-measure', () => {
      expect(rougeL(prediction, target)).toBeCloseTo(0.5882352941176471, 12);
    });

    it('should compute rouge2 from bigram overlap', () => {
      // prediction bigrams (7): the quick, quick brown, brown dog, dog jumps, jumps on, on the, the log
      // target bigrams (8): the quick, quick brown, brown fox, fox jumps, jumps over, over the, the lazy, lazy dog
      // overlap 2 → P = 2/7, R = 2/8, F = 2PR/(P+R) = 2·(2/7)(1/4)/((2/7)+(1/4)) = (1/7)/(15/28) = 4/15
      expect(rougeN(prediction, target, 2)).toBeCloseTo(4 / 15, 12);
      // no 5-gram in common → 0
      expect(rougeN(prediction, target, 5)).toBe(0);
    });

    it('should tokenize like rouge-score', () => {
      expect(rougeTokens("It's 3.5 km!")).toEqual(['it', 's', '3', '5', 'km']);
    });
  });

  describe('BLEU (sacrebleu sentence_bleu / 100)', () => {
    it('should score an exact match 1', () => {
      expect(sentenceBleu('the cat sat on the mat', 'the cat sat on the mat')).toBeCloseTo(1, 12);
    });

    it('should combine clipped precisions and the brevity penalty', () => {
      // hyp: the cat sat on mat (c = 5), ref: the cat sat on the mat (r = 6)
      // p1 = 5/5, p2 = 3/4 (the cat, cat sat, sat on), p3 = 2/3, p4 = 1/2
      // geo-mean = (1 · 0.75 · 2/3 · 0.5)^(1/4) = 0.25^(1/4) = 0.7071067811865476
      // BP = exp(1 − 6/5) = exp(−0.2) = 0.8187307530779818 → BLEU = 0.5789300674674098
      expect(sentenceBleu('the cat sat on mat', 'the cat sat on the mat')).toBeCloseTo(
        0.5789300674674098,
        12,
      );
    });

    it('should apply exp smoothing to orders without matches', () => {
      // hyp: a b c d, ref: a b x d → p1 = 3/4, p2 = 1/3 (a b), p3: 0 of 2 → 1/(2·2) = 1/4, p4: 0 of 1 → 1/(4·1) = 1/4
      // BLEU = (0.75 · 1/3 · 1/4 · 1/4)^(1/4) = (1/64)^(1/4) = 0.3535533905932738 ; BP = 1 (c = r = 4)
      expect(sentenceBleu('a b c d', 'a b x d')).toBeCloseTo(0.3535533905932738, 12);
    });

    it('should use the effective order for short hypotheses', () => {
      // hyp "a b" has no 3- or 4-grams: only p1 = 1, p2 = 1 are averaged; BP = exp(1 − 3/2) = 0.6065306597126334
      expect(sentenceBleu('a b', 'a b c')).toBeCloseTo(0.6065306597126334, 12);
      expect(sentenceBleu('x y', 'a b')).toBe(0);
    });

    it('should tokenize punctuation like 13a but keep numbers whole', () => {
      // 13a splits a dash only after a digit: "dollars-ish" stays, "5-6" → 5 - 6
      expect(bleu13aTokens('Hello, world. It costs 1,000.50 dollars-ish, 5-6')).toEqual([
        'Hello',
        ',',
        'world',
        '.',
        'It',
        'costs',
        '1,000.50',
        'dollars-ish',
        ',',
        '5',
        '-',
        '6',
      ]);
    });
  });

  describe('GLEU (NLTK sentence_gleu)', () => {
    it('should divide matches by the larger n-gram total', () => {
      // hyp: the cat sat on mat → 5 + 4 + 3 + 2 = 14 n-grams; ref: the cat sat on the mat → 6 + 5 + 4 + 3 = 18
      // matches 5 + 3 + 2 + 1 = 11 → 11 / max(14, 18) = 0.6111111111111112
      expect(sentenceGleu('the cat sat on mat', 'the cat sat on the mat')).toBeCloseTo(11 / 18, 12);
      expect(sentenceGleu('same words', 'same words')).toBe(1);
    });
  });

  describe('METEOR (NLTK meteor_score, exact stage)', () => {
    it('should combine Fmean with the fragmentation penalty', () => {
      // NLTK aligns from the end: mat→5, on→3, sat→2, cat→1, the→4 (the later "the" is met first)
      // matches by hyp index (0,4)(1,1)(2,2)(3,3)(4,5) → 3 chunks; P = 5/5, R = 5/6
      // Fmean = P·R / (0.9P + 0.1R) = (5/6) / (0.9 + 1/12) = 0.847457627118644
      // penalty = 0.5 · (3/5)^3 = 0.108 → 0.847457627118644 · 0.892 = 0.7559322033898304
      expect(meteor('the cat sat on mat', 'the cat sat on the mat')).toBeCloseTo(0.7559322033898304, 12);
    });

    it('should give one chunk a small penalty', () => {
      // identical 4 words: P = R = 1, Fmean = 1, 1 chunk → penalty 0.5·(1/4)^3 = 0.0078125 → 0.9921875
      expect(meteor('One two three four', 'one two three four')).toBeCloseTo(0.9921875, 12);
      expect(meteor('a', 'b')).toBe(0);
    });
  });
});
