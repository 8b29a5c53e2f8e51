import * as tf from '@tensorflow/tfjs-core';

import { ByteTokenizer } from '@tracetune/tokenizer';

import { expectContinuousBatching, maxAbsDiff, tinyConfig, useBackend } from '../test/helpers';
import { decodeStep, KVCache, prefill, prefillBatch, uncachedLogits } from './kv-cache';
import { TransformerModel } from './model';
import { Rng } from './rng';
import { generate, logSoftmax, nucleus, sampleToken, topN } from './sampler';

describe('sampling', () => {
  let model: TransformerModel;
  beforeAll(async () => {
    await useBackend('cpu');
    model = TransformerModel.random(tinyConfig({ vocab_size: 261, max_position_embeddings: 48 }), 21);
  });
  afterAll(() => model.dispose());
  // Different lengths, two of equal length (batched prefill) and a duplicate (prefilled once, GRPO-style).
  const prompts = [[10, 20, 30], [40, 50, 60, 70, 80, 90], [5], [11, 21, 31], [10, 20, 30]];

  it('should give identical tokens with and without the KV cache, for prompts of different lengths', () => {
    const opts = { maxNewTokens: 12, temperature: 1, topP: 0.95, topK: 50, seed: 7 };
    const cached = generate(model, prompts, opts);
    const uncached = generate(model, prompts, { ...opts, useCache: false });
    expect(cached.map((c) => c.tokens)).toEqual(uncached.map((c) => c.tokens));
    expect(cached[4].tokens).not.toEqual(cached[0].tokens); // same prompt, own PRNG stream
    cached.forEach((c, i) => expect(maxAbsDiff(c.logProbs, uncached[i].logProbs)).toBeLessThan(1e-4));
  });

  it('should be reproducible for a seed and differ across seeds', () => {
    const a = generate(model, prompts, { maxNewTokens: 10, seed: 1 });
    const b = generate(model, prompts, { maxNewTokens: 10, seed: 1 });
    const c = generate(model, prompts, { maxNewTokens: 10, seed: 2 });
    expect(a.map((x) => x.tokens)).toEqual(b.map((x) => x.tokens));
    expect(a.map((x) => x.tokens)).not.toEqual(c.map((x) => x.tokens));
    // A sequence's tokens depend on its seed and index only, not on the other prompts in the batch.
    const alone = generate(model, [prompts[0], prompts[2]], { maxNewTokens: 10, seed: 1 });
    expect(alone[0].tokens).toEqual(a[0].tokens);
  });

  it('should decode greedily at temperature 0 (argmax of the uncached logits) and report raw log-probs', () => {
    const [c] = generate(model, [prompts[0]], { maxNewTokens: 5, temperature: 0, topLogprobs: 3 });
    let seq = [...prompts[0]];
    c.tokens.forEach((tok, i) => {
      const logits = uncachedLogits(model, seq);
      const lp = logSoftmax(logits);
      expect(tok).toBe(topN(logits, 1)[0].id);
      expect(c.logProbs[i]).toBeCloseTo(lp[tok], 4);
      expect(c.topLogprobs![i][0].id).toBe(tok);
      expect(c.topLogprobs![i]).toHaveLength(3);
      seq = [...seq, tok];
    });
    expect(c.finishReason).toBe('length');
  });

  it('should stop on stop ids, stop sequences and stop strings with finish reason "stop"', () => {
    const [greedy] = generate(model, [prompts[1]], { maxNewTokens: 8, temperature: 0 });
    const t = greedy.tokens;
    const byId = generate(model, [prompts[1]], { maxNewTokens: 8, temperature: 0, stopTokenIds: [t[2]] })[0];
    expect(byId.tokens).toEqual(t.slice(0, t.indexOf(t[2]) + 1));
    expect(byId.finishReason).toBe('stop');
    const bySeq = generate(model, [prompts[1]], {
      maxNewTokens: 8,
      temperature: 0,
      stopTokenIds: [],
      stopSequences: [[t[3], t[4]]],
    })[0];
    expect(bySeq.tokens.slice(-2)).toEqual([t[3], t[4]]);
    expect(bySeq.finishReason).toBe('stop');
    // Stop strings go through the tokenizer: force "ab!" byte by byte with a logits processor.
    const forced = [97, 98, 33, 99, 100];
    const tok = new ByteTokenizer();
    const byString = generate(model, [prompts[0]], {
      maxNewTokens: 5,
      temperature: 0,
      tokenizer: tok,
      stopStrings: ['b!'],
      logitsProcessor: (_s, logits, generated) => {
        logits.fill(-Infinity);
        logits[forced[generated.length]] = 0;
      },
    })[0];
    expect(byString.tokens).toEqual([97, 98, 33]);
    expect(byString.text).toBe('a');
    expect(byString.finishReason).toBe('stop');
  });

  it('should let sequences join and leave a batched KV cache (continuous batching) with the logits of the uncached model', () => {
    const joined = KVCache.merge([prefill(model, prompts[0]).cache, prefill(model, prompts[1]).cache]);
    // A third request joins mid-flight; then the longest one leaves and the others continue.
    const cache = expectContinuousBatching(model, joined, prompts, [0, 2]);
    const before = tf.memory().numTensors;
    cache.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * model.config.num_hidden_layers);
  });

  it('should keep a batch that never empties as wide as its longest live row, not as old as the batch', () => {
    // Rows come and go for 40 steps; each lives 10 steps. Merges pad on the left and selects drop leading columns,
    // so the width stays at the longest live row's span (with right padding it grew by one column per step).
    let cache = prefill(model, prompts[1]).cache;
    let live = [{ tokens: [...prompts[1]], born: 0 }];
    for (let step = 1; step <= 40; step++) {
      const next = live.map((r, i) => (r.tokens.length * 13 + i) % 200);
      const logits = decodeStep(model, cache, next);
      live.forEach((r, i) => r.tokens.push(next[i]));
      if (step === 40)
        expect(maxAbsDiff(logits[0], uncachedLogits(model, live[0].tokens))).toBeLessThan(1e-4);
      if (step % 5 === 0) {
        const keep = live.map((r, i) => (step - r.born >= 10 ? -1 : i)).filter((i) => i >= 0);
        cache = cache.select(keep);
        live = keep.map((i) => live[i]);
        const joining = prompts[step % prompts.length];
        cache = KVCache.merge([cache, prefill(model, joining).cache]);
        live.push({ tokens: [...joining], born: step });
      }
      const longest = Math.max(...live.map((r) => r.tokens.length));
      expect(cache.width).toBe(longest);
    }
    cache.dispose();
  });

  it('should prefill prompts of different lengths in one padded batch exactly as one by one', () => {
    const batched = prefillBatch(model, prompts);
    const alone = prompts.map((p) => prefill(model, p));
    alone.forEach((a, i) =>
      expect(maxAbsDiff(Array.from(batched.logits[i]), Array.from(a.logits))).toBeLessThan(1e-4),
    );
    // Decoding continues from each row's own length: the same next-token logits as the row's own cache.
    const next = prompts.map((p) => (p[0] * 7) % 200);
    const fromBatch = decodeStep(model, batched.cache, next);
    alone.forEach((a, i) => {
      const own = decodeStep(model, a.cache, [next[i]]);
      expect(maxAbsDiff(Array.from(fromBatch[i]), Array.from(own[0]))).toBeLessThan(1e-4);
      a.cache.dispose();
    });
    batched.cache.dispose();
  });

  it('should not leak tensors while generating', () => {
    generate(model, prompts, { maxNewTokens: 3, seed: 3 });
    const before = tf.memory().numTensors;
    generate(model, prompts, { maxNewTokens: 6, seed: 4 });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('sampleToken', () => {
  const logits = Float32Array.from([0, 2, 1, -1]);

  it('should keep only the argmax with top-k 1 or a tiny top-p', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 20; i++) {
      expect(sampleToken(logits, { topK: 1 }, rng)).toBe(1);
      expect(sampleToken(logits, { topP: 0.01 }, rng)).toBe(1);
    }
  });

  it('should sample in proportion to softmax(logits / T)', () => {
    // softmax([0, 2, 1, −1]) = e^l / Σ e^l with Σ = 1 + 7.389 + 2.718 + 0.368 = 11.475 → p1 = 0.644
    const rng = new Rng(5);
    let hits = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) if (sampleToken(logits, { temperature: 1 }, rng) === 1) hits++;
    expect(Math.abs(hits / n - 0.644)).toBeLessThan(0.03);
  });

  it('should find the same nucleus as a full sort, on peaked and flat distributions', () => {
    // Brute force: sort all weights descending, keep the shortest prefix whose mass reaches topP of the total.
    const brute = (w: number[], p: number): number[] => {
      const order = w.map((_, i) => i).sort((a, b) => w[b] - w[a]);
      const total = w.reduce((s, x) => s + x, 0);
      const kept: number[] = [];
      let mass = 0;
      for (const i of order) {
        kept.push(i);
        mass += w[i];
        if (mass >= p * total) break;
      }
      return kept;
    };
    const rng = new Rng(9);
    for (const spread of [0.5, 3, 12]) {
      const w = Array.from({ length: 5000 }, () => Math.exp(spread * rng.normal()));
      for (const p of [0.1, 0.9, 0.999]) expect(nucleus(w, p)).toEqual(brute(w, p));
    }
  });

  it('should sample only among tokens a logits mask leaves', () => {
    const masked = Float32Array.from([0, -Infinity, 1, -Infinity]);
    const rng = new Rng(2);
    for (let i = 0; i < 50; i++) expect([0, 2]).toContain(sampleToken(masked, {}, rng));
    expect(() => sampleToken(Float32Array.from([-Infinity]), {}, rng)).toThrow(/masked/);
  });
});
