import { hasError, sampleFromText, type Grader } from '@tracetune/graders';
import { mean } from '@tracetune/rl-core';

export interface GradedSample {
  reward: number;
  subScores: Record<string, number>;
  error: boolean;
}

/** Grades every (text, item) pair with at most `concurrency` grades in flight; `grade` never throws. */
export async function gradeAll(
  grader: Grader,
  samples: readonly { text: string; item: Record<string, unknown> }[],
  concurrency: number,
): Promise<GradedSample[]> {
  const out: GradedSample[] = new Array(samples.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < samples.length) {
      const i = next++;
      const r = await grader.grade(sampleFromText(samples[i].text), samples[i].item);
      out[i] = { reward: r.score, subScores: r.subScores, error: hasError(r.errors) };
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, samples.length)) }, worker));
  return out;
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
