import { sampleToken, type Rng, type SamplingParams } from '@tracetune/model';
import type { Tokenizer } from '@tracetune/tokenizer';

import type { OutputConstraint } from './constraints';

/** Resampling attempts before the constraint's closing characters are forced. */
const RESAMPLE_TRIES = 16;

/**
 * Samples the next token under a constraint: tokens whose text would leave the constraint's language are rejected and
 * resampled with them masked (special tokens never qualify); a stop token only once the output is complete; and when
 * `remaining` tokens leave no more room than the shortest closing suffix, the suffix's next character is forced
 * (byte-level and BPE vocabularies hold every ASCII character). Accepted text is fed to the constraint.
 */
export function sampleConstrained(
  constraint: OutputConstraint,
  logits: Float32Array,
  tokenizer: Tokenizer,
  params: SamplingParams,
  rng: Rng,
  remaining: number,
): number {
  const masked = new Float32Array(logits);
  if (constraint.complete) return tokenizer.stopTokenIds[0] ?? tokenizer.eosTokenId ?? 0;
  for (const id of tokenizer.specialTokenIds) masked[id] = -Infinity;
  const closing = constraint.closingSuffix();
  if (closing === '') return tokenizer.stopTokenIds[0] ?? tokenizer.eosTokenId ?? 0; // no way on: end here
  if (remaining > closing.length + 1) {
    for (let attempt = 0; attempt < RESAMPLE_TRIES; attempt++) {
      const token = sampleToken(masked, params, rng);
      if (accept(constraint, tokenizer.decode([token]))) return token;
      masked[token] = -Infinity;
    }
  }
  // Out of budget or luck: emit the next closing character.
  const forced = tokenizer.encode(closing[0], { addSpecialTokens: false })[0];
  constraint.pushText(closing[0]);
  return forced;
}

function accept(constraint: OutputConstraint, text: string): boolean {
  if (text.length === 0) return false;
  // A byte of a multi-byte character decodes alone to U+FFFD; 'é' stands in for it: a character that structured
  // formats accept only where free text goes (in JSON, inside strings), which is where the whole character will end up.
  const stand = text.replace(/\uFFFD/g, 'é');
  if (!constraint.clone().pushText(stand)) return false;
  constraint.pushText(stand);
  return true;
}
