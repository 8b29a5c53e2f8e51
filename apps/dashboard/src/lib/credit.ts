/** The per-token quantities the trainer logs for a few completions per sample step (docs/trainer.md, "Sample log"). */
export interface TokenDetail {
  text: string[];
  logprob: number[];
  weight: number[];
  credit: number[];
  clip: number[];
  truncated?: boolean;
}

/** One logged completion: the fields the trainer writes (older runs only have prompt, completion and reward). */
export interface LoggedSample {
  prompt?: string;
  completion?: string;
  reward?: number;
  group?: number;
  advantage?: number;
  advantage_raw?: number;
  clamped?: boolean;
  finish_reason?: 'stop' | 'length';
  completion_tokens?: number;
  tokens?: TokenDetail;
}

/** Blue for negative credit, orange for positive (Okabe–Ito, safe for the common colour-vision deficiencies). */
const NEGATIVE = [0, 114, 178] as const;
const POSITIVE = [213, 94, 0] as const;

/**
 * The background of a token whose credit is `value` on a scale where `scale` (> 0) is full strength: the sign picks
 * the hue, |value| / scale the opacity (capped at 1, two decimals). 0 is transparent.
 */
export function creditColour(value: number, scale: number): string {
  const alpha = scale > 0 ? Math.min(1, Math.abs(value) / scale) : 0;
  const [r, g, b] = value < 0 ? NEGATIVE : POSITIVE;
  return `rgba(${r}, ${g}, ${b}, ${Math.round(alpha * 100) / 100})`;
}

/** The largest |credit| over several token lists (one colour scale for panels shown side by side). */
export function creditScale(lists: readonly (readonly number[])[]): number {
  return Math.max(0, ...lists.flatMap((l) => l.map(Math.abs)));
}

/** Hover text of one token: what it is and every logged number. */
export function tokenTitle(detail: TokenDetail, k: number, advantage: number, credit: number): string {
  const clip =
    detail.clip[k] === 1
      ? ' · clipped above (gradient cut)'
      : detail.clip[k] === -1
        ? ' · clipped below (gradient cut)'
        : '';
  return (
    `${JSON.stringify(detail.text[k])} · log-prob ${detail.logprob[k]} · advantage ${advantage}` +
    ` · trace weight ${detail.weight[k]} · credit ${credit}${clip}`
  );
}

/** Sample events of a run by step, newest first (the first event of a step wins). */
export function samplesByStep(events: readonly { data?: unknown }[]): [number, LoggedSample[]][] {
  const steps = new Map<number, LoggedSample[]>();
  for (const event of events) {
    const data = event.data as { step?: number; samples?: LoggedSample[] } | null | undefined;
    if (data && Array.isArray(data.samples) && typeof data.step === 'number' && !steps.has(data.step))
      steps.set(data.step, data.samples);
  }
  return [...steps.entries()].sort((a, b) => b[0] - a[0]);
}

/** Samples in their groups (by `group`; each sample its own group in logs without it), groups in order. */
export function groupSamples(
  samples: readonly LoggedSample[],
): { group: number; prompt?: string; samples: LoggedSample[] }[] {
  const groups = new Map<number, LoggedSample[]>();
  samples.forEach((s, i) => {
    const g = s.group ?? -1 - i;
    groups.set(g, [...(groups.get(g) ?? []), s]);
  });
  return [...groups.entries()].map(([group, list]) => ({ group, prompt: list[0].prompt, samples: list }));
}
