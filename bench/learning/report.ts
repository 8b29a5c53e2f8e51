/**
 * The printed report and the plot, computed from a {@link ResultsFile} alone: one process and merged shards give
 * byte-identical output.
 */
import { ARMS, describeRl, modeLabel } from './config';
import { svgPlot, type Curve } from './plot';
import type { ResultsFile, RunResult } from './results';
import { mean, sd, smooth3 } from './stats';

/** Target of issue 6: a GRPO-λ arm reaches GRPO's final accuracy in at most this fraction of GRPO's steps. */
const TARGET_FRACTION = 0.7;

interface ArmCurve extends Curve {
  runs: RunResult[];
}

function curvesOf(data: ResultsFile): { steps: number[]; seeds: number[]; curves: ArmCurve[] } {
  if (!data.results.length) throw new Error('no runs to report');
  const steps = data.results[0].evalSteps;
  for (const r of data.results) {
    if (r.evalSteps.join(',') !== steps.join(','))
      throw new Error(`${r.arm} seed ${r.seed} evaluated at other steps (${r.evalSteps.join(',')})`);
  }
  const seeds = [...new Set(data.results.map((r) => r.seed))].sort((a, b) => a - b);
  const curves = ARMS.filter((arm) => data.results.some((r) => r.arm === arm.name)).map((arm) => {
    const runs = data.results.filter((r) => r.arm === arm.name);
    const per = steps.map((_, i) => runs.map((r) => r.evalAccuracy[i]));
    return { name: arm.name, mean: per.map(mean), sd: per.map(sd), runs };
  });
  return { steps, seeds, curves };
}

/** First evaluation after step 0 at which a smoothed curve reaches `target`, or -1. */
const reachIndex = (smoothed: readonly number[], target: number): number =>
  smoothed.findIndex((v, i) => i > 0 && v >= target);

function targetLines(data: ResultsFile, steps: number[], curves: ArmCurve[]): string[] {
  const grpo = curves.find((c) => c.name === 'grpo');
  if (!grpo) return ['\ntarget: not computed (no GRPO arm in these results)'];
  const lastStep = steps[steps.length - 1];
  const target = smooth3(grpo.mean)[steps.length - 1];
  const out = [
    `\ntarget: GRPO's final held-out accuracy, smoothed over 3 evaluations = ${target.toFixed(3)} (GRPO's run: ${lastStep} steps; ` +
      `its smoothed curve first reaches it at step ${steps[reachIndex(smooth3(grpo.mean), target)] ?? '?'})`,
  ];
  if (target <= data.base.accuracy) {
    out.push(
      `  undefined: GRPO's final accuracy does not exceed the warm-up's (${data.base.accuracy.toFixed(3)}), so there is nothing to reach`,
    );
  }
  const reached: Record<string, number | null> = {};
  for (const c of curves.filter((c) => c !== grpo)) {
    const sm = smooth3(c.mean);
    const at = reachIndex(sm, target);
    reached[c.name] = at < 0 ? null : steps[at];
    const when =
      at < 0
        ? 'never (within the run)'
        : `step ${steps[at]} (${((100 * steps[at]) / lastStep).toFixed(0)} % of GRPO's ${lastStep})`;
    out.push(`  ${c.name.padEnd(20)} reaches it at ${when}; final smoothed ${sm[sm.length - 1].toFixed(3)}`);
  }
  const clamp = reached['grpo_clamp'];
  for (const name of ['grpo_lambda_recent', 'grpo_lambda_both']) {
    if (!(name in reached)) continue;
    const at = reached[name];
    const met = at !== null && target > data.base.accuracy && at <= TARGET_FRACTION * lastStep;
    const vsClamp = !('grpo_clamp' in reached)
      ? 'no clamp control in these results'
      : at === null
        ? 'no'
        : clamp === null
          ? 'yes (the clamp control never reaches it)'
          : at < clamp
            ? `yes (clamp control: step ${clamp})`
            : `no (clamp control: step ${clamp})`;
    out.push(
      `  ${name}: target ≤ ${TARGET_FRACTION * 100} % of GRPO's steps ${met ? 'met' : 'not met'}; faster than the clamp control: ${vsClamp}`,
    );
  }
  return out;
}

export function formatReport(data: ResultsFile): string {
  const { config, base } = data;
  const { steps, seeds, curves } = curvesOf(data);
  const mode = modeLabel(
    config,
    seeds,
    curves.map((c) => c.name),
  );
  const out: string[] = [];
  out.push(
    `\n## Learning benchmark (${mode}): tt-nano, ${config.task}, ${seeds.length} paired seeds (${seeds.join(', ')})`,
  );
  out.push(
    `warm-up: ${config.warmupSteps} SFT steps; held-out greedy accuracy after warm-up ${base.accuracy.toFixed(3)} on ${config.heldOut} prompts ` +
      `(mean length ${base.meanLength.toFixed(1)} tokens); backend ${config.backend}`,
  );
  out.push(`${describeRl(config)}\n`);
  out.push(`held-out accuracy, mean ± std over seeds, at step:\n`);
  out.push(`| arm | ${steps.join(' | ')} |`);
  out.push(`|---|${steps.map(() => '---').join('|')}|`);
  for (const c of curves)
    out.push(
      `| ${c.name} | ${c.mean.map((v, i) => (i === 0 ? v.toFixed(3) : `${v.toFixed(3)} ± ${c.sd[i].toFixed(3)}`)).join(' | ')} |`,
    );
  out.push(`\nfinal held-out accuracy per seed (paired):`);
  for (const c of curves)
    out.push(
      `  ${c.name.padEnd(20)} ${seeds
        .map(
          (s) =>
            c.runs
              .find((r) => r.seed === s)
              ?.evalAccuracy.at(-1)
              ?.toFixed(3) ?? '  -  ',
        )
        .join(' ')}`,
    );
  out.push(...targetLines(data, steps, curves));
  out.push(
    `\nper arm: grad norm (mean, max), training reward (first 3 steps → last 3 steps), phase throughput (tokens/s) and wall time per run`,
  );
  for (const c of curves) {
    const norms = c.runs.flatMap((r) => r.gradNorms);
    const early = mean(c.runs.flatMap((r) => r.rewards.slice(0, 3)));
    const late = mean(c.runs.flatMap((r) => r.rewards.slice(-3)));
    const phase = (k: string): string => mean(c.runs.map((r) => r.phase[k])).toFixed(0);
    out.push(
      `  ${c.name.padEnd(20)} grad_norm ${mean(norms).toFixed(3)} (max ${Math.max(...norms).toFixed(3)})  reward ${early.toFixed(3)} → ${late.toFixed(3)}  ` +
        `sampling ${phase('throughput/sampling_tokens_per_second')}  update ${phase('throughput/update_tokens_per_second')}  ` +
        `grading ${phase('throughput/grading_samples_per_second')} samples/s  ${mean(c.runs.map((r) => r.seconds)).toFixed(0)} s/run`,
    );
  }
  const seconds = data.results.map((r) => r.seconds);
  out.push(
    `\n${data.results.length} runs: ${mean(seconds).toFixed(0)} s/run on average (max ${Math.max(...seconds).toFixed(0)} s), ${seconds.reduce((a, b) => a + b, 0).toFixed(0)} s in all`,
  );
  return out.join('\n') + '\n';
}

export function formatSvg(data: ResultsFile): string {
  const { steps, seeds, curves } = curvesOf(data);
  const mode = modeLabel(
    data.config,
    seeds,
    curves.map((c) => c.name),
  );
  return svgPlot(
    steps,
    curves,
    `GRPO vs GRPO-λ, tt-nano arithmetic (${seeds.length} seeds × ${data.config.rlSteps} steps, ${mode})`,
  );
}
