import * as tf from '@tensorflow/tfjs-core';

import type { TransformerModel } from '@tracetune/model';
import {
  advantageEstimators,
  computeGroupAdvantages,
  LOG_RATIO_LIMIT,
  type RlConfig,
} from '@tracetune/rl-core';
import { IncrementalDecoder, type Tokenizer } from '@tracetune/tokenizer';

import type { SampleCompletion, SampleTokenDetail } from './contract';
import type { Rollout } from './rl';
import { completionLogProbs, packBatch } from './sequences';

/**
 * What one logged step may hold (bounded whatever the batch): whole groups of G completions for the first `groups`
 * prompts, and per-token credit for the first `tokenSamples` completions of the first group, cut at `tokens`.
 */
export const SAMPLE_LOG_LIMITS = { groups: 8, tokenSamples: 4, tokens: 256 } as const;

/** Five significant digits: the logged numbers stay small in the event log. */
const round = (x: number): number => Number(x.toPrecision(5));

/** Ã (after the clamp) and A (before) of every rollout, per micro-batch of whole groups as the loss computes them. */
export function rolloutAdvantages(
  rollouts: readonly Rollout[],
  config: RlConfig,
  promptsPerMicro: number,
): { raw: number[]; advantages: number[] } {
  const raw = new Array<number>(rollouts.length).fill(0);
  const advantages = new Array<number>(rollouts.length).fill(0);
  const groups = [...new Set(rollouts.map((r) => r.group))].sort((a, b) => a - b);
  for (let g = 0; g < groups.length; g += promptsPerMicro) {
    const ids = new Set(groups.slice(g, g + promptsPerMicro));
    const rows = rollouts.map((r, i) => ({ r, i })).filter(({ r }) => ids.has(r.group));
    const out = computeGroupAdvantages({
      ...config,
      rewards: rows.map(({ r }) => r.graded.reward),
      groupIds: rows.map(({ r }) => r.group),
    });
    rows.forEach(({ i }, k) => {
      raw[i] = out.raw[k];
      advantages[i] = out.advantages[k];
    });
  }
  return { raw, advantages };
}

/**
 * Clip marks of each token under `model` (the policy of the step's last optimisation pass) against the sampling
 * policy: the ratio the variant clips (ρ = exp z for eps_trace, r = exp d for eps_weight) below 1 − ε with Ã < 0
 * is −1, above 1 + ε_high with Ã > 0 is +1 (the token's gradient is cut), else 0.
 */
export function clipMarks(
  model: TransformerModel,
  rows: readonly Rollout[],
  advantages: readonly number[],
  config: RlConfig,
): number[][] {
  const packed = packBatch(rows.map((r) => ({ prompt: r.prompt, completion: r.tokens })));
  const width = packed.completionLength;
  const ratios = tf.tidy(() => {
    const logpNew = completionLogProbs(model, packed).logProbs;
    const old = tf.tensor2d(
      rows.map((r) => [...r.logpOld, ...new Array<number>(width - r.logpOld.length).fill(0)]),
    );
    const d = tf.mul(tf.sub(logpNew, old), tf.tensor2d(packed.completionMask)) as tf.Tensor2D;
    const credit = advantageEstimators.get(config.estimator)(config);
    const z = config.variant === 'eps_trace' ? credit.tracedLogRatio(d) : d;
    return tf.exp(tf.clipByValue(z, -LOG_RATIO_LIMIT, LOG_RATIO_LIMIT)).arraySync() as number[][];
  });
  return rows.map((r, b) =>
    r.tokens.map((_, t) => {
      const ratio = ratios[b][t];
      if (ratio < 1 - config.epsilon && advantages[b] < 0) return -1;
      return ratio > 1 + config.epsilonHigh && advantages[b] > 0 ? 1 : 0;
    }),
  );
}

/**
 * The text each token adds (their concatenation is the completion): a token inside a multi-byte character adds ''
 * and the token completing it adds the character; special tokens add ''.
 */
function tokenTexts(tokenizer: Tokenizer, ids: readonly number[]): string[] {
  const decoder = new IncrementalDecoder(tokenizer, { skipSpecialTokens: true });
  const texts = ids.map((id) => decoder.push(id));
  if (texts.length > 0) texts[texts.length - 1] += decoder.flush();
  return texts;
}

/** Per-token quantities of one completion: text, log-prob, trace weight, Ã × weight and clip marks. */
export function tokenDetail(
  tokenizer: Tokenizer,
  rollout: Rollout,
  advantage: number,
  config: RlConfig,
  clip: readonly number[],
): SampleTokenDetail {
  const n = Math.min(rollout.tokens.length, SAMPLE_LOG_LIMITS.tokens);
  const weights = advantageEstimators.get(config.estimator)(config).tokenWeights(rollout.tokens.length);
  const ids = rollout.tokens.slice(0, n);
  return {
    text: tokenTexts(tokenizer, ids),
    logprob: rollout.logpOld.slice(0, n).map(round),
    weight: Array.from(weights.slice(0, n), round),
    credit: Array.from(weights.slice(0, n), (w) => round(advantage * w)),
    clip: clip.slice(0, n),
    truncated: rollout.tokens.length > n,
  };
}

/** The rollouts whose tokens are logged: the first completions of the first group. */
export function detailedRollouts(rollouts: readonly Rollout[]): Rollout[] {
  return rollouts.filter((r) => r.group === 0).slice(0, SAMPLE_LOG_LIMITS.tokenSamples);
}

/**
 * The sample log of one step: whole groups (every completion with its reward, Ã and A) for the first prompts, and
 * the per-token credit of {@link detailedRollouts} (`clip` holds their marks, in the same order).
 */
export function sampleLog(
  tokenizer: Tokenizer,
  rollouts: readonly Rollout[],
  adv: { raw: readonly number[]; advantages: readonly number[] },
  config: RlConfig,
  clip: readonly (readonly number[])[],
): SampleCompletion[] {
  const detailed = detailedRollouts(rollouts);
  return rollouts
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.group < SAMPLE_LOG_LIMITS.groups)
    .map(({ r, i }) => {
      const k = detailed.indexOf(r);
      const sample: SampleCompletion = {
        prompt: r.promptText,
        completion: r.text,
        reward: r.graded.reward,
        group: r.group,
        advantage: round(adv.advantages[i]),
        advantage_raw: round(adv.raw[i]),
        clamped: adv.advantages[i] !== adv.raw[i],
        finish_reason: r.clipped ? 'length' : 'stop',
        completion_tokens: r.tokens.length,
      };
      if (k >= 0) sample.tokens = tokenDetail(tokenizer, r, adv.advantages[i], config, clip[k] ?? []);
      return sample;
    });
}
