/**
 * Learning benchmark: does GRPO-λ learn faster than GRPO from the same SFT warm-up, at the same prompts per step and
 * the same sampled-token budget? Arms: GRPO; GRPO-λ `recent`; GRPO-λ `both`; GRPO + the same −0.1 negative-advantage
 * clamp (control: separates the clamp's effect from the traces'). Every arm of a seed sees the same prompts in the same
 * order (the data order derives from the run seed) and starts from the same warm-up weights.
 *
 * Run:  npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/learning/main.ts [--quick]
 *       [--seeds N | --seed-list 1,2,3] [--arms grpo,grpo_clamp] [--steps N] [--warmup-steps N] [--warmup-dir <dir>]
 *       [--lr X] [--lr-warmup-steps N] [--prompts-per-step N] [--temperature X] [--lora-rank N] [--held-out N] [--eval-every N]
 *       [--svg docs/learning-curves.svg] [--results file.json] [--json-out shard.json] [--backend wasm|cpu]
 *       [--warmup-only]
 * Merge:  … main.ts --merge a.json,b.json,… [--svg file.svg] [--results all.json]   (no training)
 * Prints mean ± std held-out accuracy curves per arm, the target metric (steps for each GRPO-λ arm to reach GRPO's
 * final held-out accuracy, on curves smoothed over 3 evaluations), grad norms per arm and throughput per phase, and
 * writes an SVG plot. The report depends only on the results, so shards merged with `--merge` print the same.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { setupBackend, type BackendChoice } from '@tracetune/model';

import { ARMS, PRESETS, type BenchConfig } from './config';
import { formatReport, formatSvg } from './report';
import { mergeResults, sortRuns, writeResults, type ResultsFile, type RunResult } from './results';
import { evaluateBase, heldOutSet, log, runArm, warmUp, warmupStepsOf } from './run';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    'seed-list': { type: 'string' },
    arms: { type: 'string' },
    steps: { type: 'string' },
    'warmup-steps': { type: 'string' },
    /** Reuse a warm-up model directory (skips the SFT phase). */
    'warmup-dir': { type: 'string' },
    /** Only make the warm-up (under --work) and print its directory. */
    'warmup-only': { type: 'boolean', default: false },
    lr: { type: 'string' },
    'lr-warmup-steps': { type: 'string' },
    'prompts-per-step': { type: 'string' },
    temperature: { type: 'string' },
    'lora-rank': { type: 'string' },
    'held-out': { type: 'string' },
    'eval-every': { type: 'string' },
    /** Default docs/learning-curves.svg, except for shards (--json-out), which write no SVG unless asked. */
    svg: { type: 'string' },
    results: { type: 'string' },
    'json-out': { type: 'string' },
    merge: { type: 'string' },
    backend: { type: 'string', default: 'wasm' },
    work: { type: 'string', default: 'tmp/bench-learning' },
  },
});

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
const num = (name: string, s: string | undefined): number | undefined => {
  if (s === undefined) return undefined;
  const v = Number(s);
  if (!Number.isFinite(v)) throw new Error(`--${name}: not a number: ${s}`);
  return v;
};

function configFromArgs(): { config: BenchConfig; seeds: number[] } {
  const preset = args.quick ? 'quick' : 'full';
  const { seeds: presetSeeds, ...defaults } = PRESETS[preset];
  const config: BenchConfig = {
    preset,
    ...defaults,
    warmupSteps: num('warmup-steps', args['warmup-steps']) ?? defaults.warmupSteps,
    rlSteps: num('steps', args.steps) ?? defaults.rlSteps,
    evalEvery: num('eval-every', args['eval-every']) ?? defaults.evalEvery,
    heldOut: num('held-out', args['held-out']) ?? defaults.heldOut,
    promptsPerStep: num('prompts-per-step', args['prompts-per-step']) ?? defaults.promptsPerStep,
    temperature: num('temperature', args.temperature) ?? defaults.temperature,
    lr: num('lr', args.lr) ?? defaults.lr,
    lrWarmupSteps: num('lr-warmup-steps', args['lr-warmup-steps']) ?? defaults.lrWarmupSteps,
    loraRank: num('lora-rank', args['lora-rank']) ?? defaults.loraRank,
    backend: args.backend as string,
  };
  if (args.seeds && args['seed-list']) throw new Error('give --seeds N or --seed-list, not both');
  const count = num('seeds', args.seeds);
  const seeds = args['seed-list']
    ? list(args['seed-list']).map((s) => num('seed-list', s) as number)
    : count !== undefined
      ? Array.from({ length: count }, (_, i) => i + 1)
      : presetSeeds;
  return { config, seeds };
}

function selectedArms(): typeof ARMS {
  if (!args.arms) return ARMS;
  const names = list(args.arms);
  for (const n of names)
    if (!ARMS.some((a) => a.name === n))
      throw new Error(`--arms: unknown arm ${n}; known: ${ARMS.map((a) => a.name).join(', ')}`);
  return ARMS.filter((a) => names.includes(a.name));
}

/** Prints the report and writes the SVG and the results file where asked. */
function publish(unsorted: ResultsFile, shard: boolean): void {
  const data = { ...unsorted, results: sortRuns(unsorted.results) };
  process.stdout.write(formatReport(data));
  const svg = args.svg ?? (shard ? undefined : 'docs/learning-curves.svg');
  if (svg) {
    writeFileSync(svg, formatSvg(data));
    log(`wrote ${svg}`);
  }
  if (args.results) {
    writeResults(args.results, data);
    log(`wrote ${args.results}`);
  }
}

async function train(): Promise<void> {
  const { config, seeds } = configFromArgs();
  const arms = selectedArms();
  const work = args.work as string;
  const report = await setupBackend(config.backend as BackendChoice);
  config.backend = report.backend;
  mkdirSync(work, { recursive: true });
  const started = Date.now();
  let warmupDir = args['warmup-dir'];
  if (warmupDir) {
    const steps = warmupStepsOf(warmupDir);
    if (args['warmup-steps'] && steps !== config.warmupSteps)
      throw new Error(
        `--warmup-dir ${warmupDir} has ${steps} SFT steps, not --warmup-steps ${config.warmupSteps}`,
      );
    config.warmupSteps = steps;
  } else {
    log(`warm-up: ${config.warmupSteps} SFT steps`);
    warmupDir = await warmUp(config.warmupSteps, work);
  }
  if (args['warmup-only']) {
    process.stdout.write(`${warmupDir}\n`);
    return;
  }
  log(
    `backend ${report.backend}; seeds ${seeds.join(',')} × arms ${arms.map((a) => a.name).join(',')}; ${JSON.stringify(config)}`,
  );
  const base = await evaluateBase(warmupDir, heldOutSet(config.heldOut), config);
  log(
    `warm-up ready after ${((Date.now() - started) / 1000).toFixed(0)} s; held-out greedy accuracy ${base.accuracy.toFixed(3)}, mean length ${base.meanLength.toFixed(1)}`,
  );
  const results: RunResult[] = [];
  for (const seed of seeds)
    for (const arm of arms) results.push(await runArm(config, warmupDir, arm, seed, base, work));
  const data: ResultsFile = { config, base, results };
  if (args['json-out']) {
    writeResults(args['json-out'], data);
    log(`wrote ${args['json-out']}`);
  }
  publish(data, !!args['json-out']);
  log(`total wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

async function main(): Promise<void> {
  if (args.merge) publish(mergeResults(list(args.merge)), false);
  else await train();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
