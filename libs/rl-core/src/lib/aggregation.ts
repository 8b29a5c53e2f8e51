import { Registry } from './registry';

export interface AggregationInput {
  /** Completion length of every sequence. */
  lengths: readonly number[];
  /** False for sequences left out of the loss (skipped zero-std groups). */
  included: readonly boolean[];
  /** T of the padded [B, T] batch. */
  paddedLength: number;
  /** Dr. GRPO's constant normaliser. */
  maxCompletionLength: number;
}

/**
 * A loss aggregation returns the coefficient of every token's objective, [B·T] row-major, so that
 * loss = −Σ_{i,t} coefficient_{i,t}·obj_{i,t}. All three aggregations are linear in obj with coefficients that
 * depend only on lengths, which the host knows; padding and skipped sequences get 0.
 */
export type LossAggregation = (input: AggregationInput) => Float32Array;

function perToken(input: AggregationInput, coefficient: (row: number) => number): Float32Array {
  const { lengths, included, paddedLength } = input;
  const out = new Float32Array(lengths.length * paddedLength);
  lengths.forEach((length, row) => {
    if (included[row]) out.fill(coefficient(row), row * paddedLength, row * paddedLength + length);
  });
  return out;
}

function includedCount(input: AggregationInput): number {
  return input.included.filter(Boolean).length;
}

export const lossAggregations = new Registry<LossAggregation>('loss aggregation')
  // GRPO: L = mean_i −(1/|o_i|) Σ_t obj_{i,t}.
  .register('seq-mean-token-mean', (input) =>
    perToken(input, (row) => 1 / (input.lengths[row] * includedCount(input))),
  )
  // DAPO: every token of the batch weighs the same, so long completions are not under-weighted.
  .register('token-mean', (input) => {
    const tokens = input.lengths.reduce((sum, length, row) => sum + (input.included[row] ? length : 0), 0);
    return perToken(input, () => 1 / tokens);
  })
  // Dr. GRPO: token sums divided by a constant, removing the length bias of per-sequence means.
  .register('seq-mean-token-sum-norm', (input) =>
    perToken(input, () => 1 / (includedCount(input) * input.maxCompletionLength)),
  );
