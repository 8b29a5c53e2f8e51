import type { Grader } from '@tracetune/graders';
import { mean } from '@tracetune/rl-core';

import type { RlExample } from './data';
import { rewardMeans } from './grading';
import { gradeRollouts, type Sampler } from './rl';

export interface EvalSettings {
  samples: number;
  maxNewTokens: number;
  temperature: number;
  topP: number;
  passThreshold: number;
  seed: number;
  graderConcurrency: number;
  /** Aborts the evaluation's grading (cancel, pause): `GradingAbortedError`. */
  signal?: AbortSignal;
}

/**
 * Validation metrics of an RL run: greedy (temperature 0) accuracy and mean reward, and with `samples` ≥ 1 the
 * sampled accuracy (mean over samples) and pass@k (k = samples: a prompt passes when any sample passes).
 */
export async function evaluateRl(
  sample: Sampler,
  grader: Grader,
  examples: readonly RlExample[],
  s: EvalSettings,
): Promise<Record<string, number>> {
  const greedy = await gradeRollouts(
    grader,
    examples,
    await sample(examples, {
      groupSize: 1,
      maxNewTokens: s.maxNewTokens,
      temperature: 0,
      topP: 1,
      seed: s.seed,
    }),
    s.graderConcurrency,
    s.signal,
  );
  const graded = greedy.map((r) => r.graded);
  const out: Record<string, number> = {
    eval_accuracy: mean(graded.map((g) => (g.reward >= s.passThreshold ? 1 : 0))),
    eval_reward: mean(graded.map((g) => g.reward)),
    eval_grader_errors: graded.filter((g) => g.error).length,
    'eval_completions/mean_length': mean(greedy.map((r) => r.tokens.length)),
    ...rewardMeans(grader.name, graded, 'eval_'),
  };
  if (s.samples >= 1) {
    const sampled = await gradeRollouts(
      grader,
      examples,
      await sample(examples, {
        groupSize: s.samples,
        maxNewTokens: s.maxNewTokens,
        temperature: s.temperature,
        topP: s.topP,
        seed: s.seed + 1,
      }),
      s.graderConcurrency,
      s.signal,
    );
    const pass = sampled.map((r) => (r.graded.reward >= s.passThreshold ? 1 : 0));
    out['eval_sampled_accuracy'] = mean(pass);
    out['eval_pass_at_k'] = mean(
      examples.map((_, g) => (sampled.some((r, i) => r.group === g && pass[i] === 1) ? 1 : 0)),
    );
  }
  return out;
}
