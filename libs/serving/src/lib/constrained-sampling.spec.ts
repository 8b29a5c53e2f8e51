import { Rng } from '@tracetune/model';
import { ByteTokenizer } from '@tracetune/tokenizer';

import { sampleConstrained } from './constrained-sampling';
import { outputConstraint, type OutputConstraint } from './constraints';

/** A toy format, to show that the sampler serves any automaton: exactly three digits. */
class ThreeDigits implements OutputConstraint {
  constructor(private text = '') {}

  get complete(): boolean {
    return this.text.length === 3;
  }

  pushText(text: string): boolean {
    this.text += text;
    return /^\d{0,3}$/.test(this.text);
  }

  clone(): ThreeDigits {
    return new ThreeDigits(this.text);
  }

  closingSuffix(): string {
    return '7'.repeat(3 - this.text.length);
  }
}

describe('sampleConstrained', () => {
  const tokenizer = new ByteTokenizer();
  const params = { temperature: 1, topP: 1 };
  // Flat logits over the byte vocabulary: the constraint alone decides what comes out.
  const flat = new Float32Array(tokenizer.vocabSize);

  /** Samples until the constraint is complete and a stop token follows, or the budget runs out. */
  function generate(
    constraint: OutputConstraint,
    budget: number,
    seed: number,
  ): { text: string; stopped: boolean } {
    const rng = new Rng(seed);
    const tokens: number[] = [];
    for (let used = 0; used < budget; used++) {
      const token = sampleConstrained(constraint, flat, tokenizer, params, rng, budget - used);
      if (tokenizer.stopTokenIds.includes(token)) return { text: tokenizer.decode(tokens), stopped: true };
      tokens.push(token);
    }
    return { text: tokenizer.decode(tokens), stopped: false };
  }

  it('should keep only tokens a constraint accepts and stop once the output is complete', () => {
    for (let seed = 0; seed < 5; seed++) {
      const { text, stopped } = generate(new ThreeDigits(), 10, seed);
      expect(text).toMatch(/^\d{3}$/);
      expect(stopped).toBe(true);
    }
  });

  it('should force the closing suffix when the budget leaves no room to sample', () => {
    expect(generate(new ThreeDigits(), 3, 1).text).toBe('777'); // 3 tokens for 3 characters: all forced
  });

  it('should produce a JSON object that parses for response_format json_object, even on a tight budget', () => {
    for (const budget of [4, 12, 40]) {
      for (let seed = 0; seed < 3; seed++) {
        const constraint = outputConstraint({ type: 'json_object' });
        expect(constraint).not.toBeNull();
        const { text } = generate(constraint!, budget, seed);
        expect(typeof JSON.parse(text)).toBe('object');
      }
    }
    expect(outputConstraint({ type: 'text' })).toBeNull();
  });
});
