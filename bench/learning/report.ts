/**
 * The printed report and the plot, computed from a {@link ResultsFile} alone: one process and merged shards give
 * byte-identical output. Primary metric: the paired ΔAUC of held-out accuracy of each arm against the clamp control
 * (same seed = same prompts, same warm-up), with a 95 % t-interval over the seeds.
 */
import { ARMS, CONTROL_ARM, describeRl, modeLabel } from './config';
import { svgPanels, type Curve } from './plot';
import type { ResultsFile, RunResult } from './results';
import { auc, finiteMean, mean, pairedInterval, sd, type PairedInterval } from './stats';

interface ArmRuns {
  name: string;
  runs: RunResult[];
}

function armsOf(data: ResultsFile): { steps: number[]; arms: ArmRuns[] } {
  if (!data.results.length) throw new Error('no runs to report');
  const steps = data.results[0].evalSteps;
  for (const r of data.results) {
    if (r.evalSteps.join(',') !== steps.join(','))
      throw new Error(`${r.arm} seed ${r.seed} evaluated at other steps (${r.evalSteps.join(',')})`);
  }
  const arms = ARMS.filter((arm) => data.results.some((r) => r.arm === arm.name)).map((arm) => ({
    name: arm.name,
    runs: data.results.filter((r) => r.arm === arm.name),
  }));
  return { steps, arms };
}

const f3 = (x: number | null): string => (x === null || !Number.isFinite(x) ? '–' : x.toFixed(3));
const signed = (x: number): string => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

/** Seeds both arms ran, with the arm's run and the control's. */
function pairs(arm: ArmRuns, control: ArmRuns): { seed: number; a: RunResult; c: RunResult }[] {
  return arm.runs.flatMap((a) => {
    const c = control.runs.find((r) => r.seed === a.seed);
    return c ? [{ seed: a.seed, a, c }] : [];
  });
}

/** The first evaluation step at which a run's accuracy reaches `threshold`, or null. */
const stepsTo = (r: RunResult, threshold: number): number | null => {
  const i = r.evalAccuracy.findIndex((v, k) => k > 0 && v >= threshold);
  return i < 0 ? null : r.evalSteps[i];
};

function verdict(name: string, iv: PairedInterval): string {
  if (iv.low === null || iv.high === null) return `${name}: fewer than two paired seeds, no interval`;
  if (iv.low > 0) return `${name}: above the clamp control (interval excludes 0)`;
  if (iv.high < 0) return `${name}: below the clamp control (interval excludes 0)`;
  return `${name}: no difference detected (interval contains 0; a true ΔAUC of ±${f3(iv.detectable)} would be seen with 80 % power)`;
}

function pairedLines(data: ResultsFile, arms: ArmRuns[]): string[] {
  const control = arms.find((a) => a.name === CONTROL_ARM);
  if (!control) return [`\nprimary metric: not computed (no ${CONTROL_ARM} arm in these results)`];
  const threshold = data.base.accuracy + data.config.thresholdGain;
  const out = [
    `\nprimary metric: paired ΔAUC of held-out accuracy against ${CONTROL_ARM} (AUC = the curve's mean over the run), ` +
      `95 % t-interval over seeds; steps to ${threshold.toFixed(3)} (warm-up + ${data.config.thresholdGain}) per seed\n`,
    `| arm | pairs | ΔAUC mean | 95 % interval | sd | detectable (80 % power) | steps to threshold (arm / control) |`,
    `|---|---|---|---|---|---|---|`,
  ];
  const verdicts: string[] = [];
  for (const arm of arms.filter((a) => a !== control)) {
    const ps = pairs(arm, control);
    const iv = pairedInterval(
      ps.map((p) => auc(p.a.evalSteps, p.a.evalAccuracy) - auc(p.c.evalSteps, p.c.evalAccuracy)),
    );
    const reach = ps
      .map((p) => `${stepsTo(p.a, threshold) ?? 'never'}/${stepsTo(p.c, threshold) ?? 'never'}`)
      .join(', ');
    out.push(
      `| ${arm.name} | ${iv.n} | ${Number.isFinite(iv.mean) ? signed(iv.mean) : '–'} | ${iv.low === null ? '–' : `[${signed(iv.low)}, ${signed(iv.high as number)}]`} | ${f3(iv.sd)} | ${f3(iv.detectable)} | ${reach} |`,
    );
    if (arm.name.startsWith('grpo_lambda')) verdicts.push(verdict(arm.name, iv));
  }
  return [...out, '', ...verdicts];
}

function creditLines(arms: ArmRuns[]): string[] {
  const out = [
    `\nwhere the credit went: first wrong line of wrong training completions (1–8 = steps, 9 = answer line; mean over ` +
      `the first and the last 10 % of steps), grad norm (mean, max), clipped updates, entropy, reward first → last 3 steps, time`,
  ];
  for (const a of arms) {
    const series = (k: keyof RunResult['series']): number[][] => a.runs.map((r) => r.series[k]);
    const part = (xs: number[][], from: number, to: number): number =>
      finiteMean(
        xs.flatMap((x) => x.slice(Math.floor(from * x.length), Math.max(1, Math.ceil(to * x.length)))),
      );
    const norms = series('gradNorm').flat();
    const firstError = series('firstErrorLine');
    const rewards = series('reward');
    out.push(
      `  ${a.name.padEnd(18)} first error ${f3(part(firstError, 0, 0.1))} → ${f3(part(firstError, 0.9, 1))}  ` +
        `grad_norm ${f3(finiteMean(norms))} (max ${f3(Math.max(...norms.filter(Number.isFinite)))})  ` +
        `clipped ${(100 * finiteMean(series('gradClipped').flat())).toFixed(0)} %  entropy ${f3(finiteMean(series('entropy').flat()))}  ` +
        `reward ${f3(finiteMean(rewards.flatMap((r) => r.slice(0, 3))))} → ${f3(finiteMean(rewards.flatMap((r) => r.slice(-3))))}  ` +
        `${mean(a.runs.map((r) => r.seconds)).toFixed(0)} s/run`,
    );
  }
  return out;
}

export function formatReport(data: ResultsFile): string {
  const { config, base } = data;
  const { steps, arms } = armsOf(data);
  const out: string[] = [];
  out.push(`\n## Learning benchmark (${modeLabel(config)}): ${config.model}, ${config.task}`);
  if (config.preset === 'quick')
    out.push(`QUICK MODE: a smoke test of the pipeline (few steps and seeds); its numbers answer nothing.`);
  out.push(
    `warm-up: ${config.warmupSteps} SFT steps, stopped at validation accuracy ≥ ${config.warmupAccuracy[0]}; held-out greedy accuracy ` +
      `${base.accuracy.toFixed(3)} on ${config.heldOut} prompts (mean length ${base.meanLength.toFixed(1)} tokens)` +
      `${base.accuracy > config.warmupAccuracy[1] ? ` — above the band's ${config.warmupAccuracy[1]}` : ''}; backend ${config.backend}`,
  );
  out.push(`${describeRl(config)}\n`);
  out.push(`held-out accuracy, mean ± std over seeds, at step:\n`);
  out.push(`| arm (seeds) | ${steps.join(' | ')} |`);
  out.push(`|---|${steps.map(() => '---').join('|')}|`);
  for (const a of arms) {
    const per = steps.map((_, i) => a.runs.map((r) => r.evalAccuracy[i]));
    out.push(
      `| ${a.name} (${a.runs.map((r) => r.seed).join(',')}) | ${per.map((v, i) => (i === 0 ? mean(v).toFixed(3) : `${mean(v).toFixed(3)} ± ${sd(v).toFixed(3)}`)).join(' | ')} |`,
    );
  }
  out.push(...pairedLines(data, arms));
  out.push(...creditLines(arms));
  const seconds = data.results.map((r) => r.seconds);
  out.push(
    `\n${data.results.length} runs: ${mean(seconds).toFixed(0)} s/run on average (max ${Math.max(...seconds).toFixed(0)} s), ${seconds.reduce((a, b) => a + b, 0).toFixed(0)} s in all`,
  );
  return out.join('\n') + '\n';
}

/** Mean ± sd per arm, and each arm's paired difference to the control with its 95 % interval, per eval step. */
export function formatSvg(data: ResultsFile): string {
  const { steps, arms } = armsOf(data);
  const curves: Curve[] = arms.map((a) => {
    const per = steps.map((_, i) => a.runs.map((r) => r.evalAccuracy[i]));
    const m = per.map(mean);
    const s = per.map(sd);
    return { name: a.name, mean: m, low: m.map((x, i) => x - s[i]), high: m.map((x, i) => x + s[i]) };
  });
  const control = arms.find((a) => a.name === CONTROL_ARM);
  const diffs: Curve[] = control
    ? arms
        .filter((a) => a !== control)
        .map((a) => {
          const ps = pairs(a, control);
          const ivs = steps.map((_, i) =>
            pairedInterval(ps.map((p) => p.a.evalAccuracy[i] - p.c.evalAccuracy[i])),
          );
          return {
            name: a.name,
            mean: ivs.map((iv) => iv.mean),
            low: ivs.map((iv) => iv.low ?? iv.mean),
            high: ivs.map((iv) => iv.high ?? iv.mean),
          };
        })
    : [];
  return svgPanels(steps, [
    {
      title: `held-out accuracy (mean ± sd over seeds), ${data.config.model}, ${data.config.variant}, ${modeLabel(data.config)}`,
      yLabel: 'accuracy',
      curves,
    },
    {
      title: `paired difference to ${CONTROL_ARM} (mean, 95 % t-interval)`,
      yLabel: 'Δ accuracy',
      curves: diffs,
      zero: true,
    },
  ]);
}
