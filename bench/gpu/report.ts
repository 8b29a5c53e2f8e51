import type { RunnerResult } from './main';
import { DECODE_BATCHES } from './shapes';

const fmt = (v: number | null | undefined, digits = 1): string => (v == null ? 'n/a' : v.toFixed(digits));

/**
 * One table per figure, a column per runner and the ratio of each runner to tfjs-webgpu (for times: runner /
 * webgpu, so > 1 means webgpu is faster; for throughputs: webgpu / runner, the same reading).
 */
export function compare(results: RunnerResult[]): string {
  const lines: string[] = [];
  const base = results.find((r) => r.runner === 'tfjs-webgpu') ?? results[0];
  lines.push(`runners: ${results.map((r) => `${r.runner} (${r.device})`).join('; ')}`);
  const keys = base.rows.map((r) => `${r.model}/${r.mode}`);
  const find = (r: RunnerResult, key: string) => r.rows.find((x) => `${x.model}/${x.mode}` === key);
  const header = (what: string) =>
    `${what.padEnd(26)}${results.map((r) => r.runner.padStart(16)).join('')}   ratios (other / webgpu, >1 = webgpu faster)`;
  lines.push('', header('train step (ms)'));
  for (const key of keys) {
    const b = find(base, key)?.train_step_ms;
    const cells = results.map((r) => fmt(find(r, key)?.train_step_ms).padStart(16));
    const ratios = results
      .filter((r) => r !== base)
      .map((r) => {
        const v = find(r, key)?.train_step_ms;
        return `${r.runner} ${b && v ? (v / b).toFixed(2) : 'n/a'}×`;
      });
    lines.push(`${key.padEnd(26)}${cells.join('')}   ${ratios.join('  ')}`);
  }
  lines.push('', header('decode (tokens/s)'));
  for (const key of keys.filter((k) => k.endsWith('/full'))) {
    for (const batch of DECODE_BATCHES) {
      const get = (r: RunnerResult) => find(r, key)?.decode_tokens_per_s?.[String(batch)] ?? null;
      const b = get(base);
      const cells = results.map((r) => fmt(get(r)).padStart(16));
      const ratios = results
        .filter((r) => r !== base)
        .map((r) => `${r.runner} ${b && get(r) ? (b / (get(r) as number)).toFixed(2) : 'n/a'}×`);
      lines.push(
        `${`${key.split('/')[0]} batch ${batch}`.padEnd(26)}${cells.join('')}   ${ratios.join('  ')}`,
      );
    }
  }
  const notes = results.flatMap((r) =>
    r.rows.filter((x) => x.note).map((x) => `${r.runner} ${x.model}/${x.mode}: ${x.note}`),
  );
  if (notes.length) lines.push('', 'notes:', ...notes.map((n) => `  ${n}`));
  const grpo = results.find((r) => r.grpo)?.grpo;
  if (grpo) {
    const sorted = [...grpo.step_ms].sort((a, b) => a - b);
    lines.push(
      '',
      `GRPO-λ job on webgpu (${grpo.model}, ${grpo.steps} steps, ${grpo.status}): step ms ${grpo.step_ms.join(' ')}`,
      `  median ${sorted[Math.floor(sorted.length / 2)] ?? 'n/a'} ms; final ${JSON.stringify(grpo.final)}`,
    );
  }
  return lines.join('\n');
}
