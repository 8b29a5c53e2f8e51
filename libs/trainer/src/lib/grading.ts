import { hasError, sampleFromText, type Grader } from '@tracetune/graders';
import { mean } from '@tracetune/rl-core';

import type { ControlSignal } from './contract';

export interface GradedSample {
  reward: number;
  subScores: Record<string, number>;
  error: boolean;
}

/**
 * Grades every (text, item) pair with at most `concurrency` grades in flight. `grade` never throws, except
 * `GradingAbortedError` once `signal` aborts (running code graders are killed, not awaited).
 */
export async function gradeAll(
  grader: Grader,
  samples: readonly { text: string; item: Record<string, unknown> }[],
  concurrency: number,
  signal?: AbortSignal,
): Promise<GradedSample[]> {
  const out: GradedSample[] = new Array(samples.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length && !signal?.aborted) {
      const i = next++;
      const r = await grader.grade(sampleFromText(samples[i].text), samples[i].item, { signal });
      out[i] = { reward: r.score, subScores: r.subScores, error: hasError(r.errors) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, samples.length)) }, worker));
  return out;
}

/**
 * While grading, the run's control signal (it arrives by IPC while the pool's threads work) is first read after
 * `CONTROL_FIRST_MS`, then every `CONTROL_POLL_MS`: fast grading never reads it, slow grading stops soon after a
 * cancel or pause.
 */
const CONTROL_FIRST_MS = 500;
const CONTROL_POLL_MS = 100;

/**
 * Runs `work` with a signal that aborts once `control()` asks to cancel or pause, so a slow grader holds the run
 * for well under a second past the request (code graders run on pool threads, which the abort kills).
 */
export async function abortOnControl<T>(
  control: () => ControlSignal,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const controller = new AbortController();
  let poll: NodeJS.Timeout | undefined;
  const check = () => {
    if (control() !== 'continue') controller.abort();
    else poll = setTimeout(check, CONTROL_POLL_MS);
  };
  poll = setTimeout(check, CONTROL_FIRST_MS);
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(poll);
  }
}

/** `rewards/<name>/mean` for the grader and each named sub-score (a multi grader's sub-graders). */
export function rewardMeans(
  graderName: string,
  graded: readonly GradedSample[],
  prefix = '',
): Record<string, number> {
  const out: Record<string, number> = {
    [`${prefix}rewards/${graderName}/mean`]: mean(graded.map((g) => g.reward)),
  };
  const names = new Set(graded.flatMap((g) => Object.keys(g.subScores)));
  for (const name of names) {
    if (name === graderName) continue;
    out[`${prefix}rewards/${name}/mean`] = mean(graded.map((g) => g.subScores[name] ?? 0));
  }
  return out;
}
