/**
 * Learning benchmark: does GRPO-λ's trace itself help, and where? Each GRPO-λ arm is paired, seed by seed, with GRPO
 * + the same −0.1 clamp of negative advantages (the control: same prompts in the same order, same warm-up weights,
 * same optimiser regime), on decision-dense chains whose one hard step comes first or last (docs/trainer.md).
 *
 * Run:  npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/learning/main.ts [--quick]
 *       [--variant hard_first|hard_last|uniform] [--model tt-nano|tt-micro] [--seeds N | --seed-list 1,2,3]
 *       [--arms grpo_clamp,grpo_lambda] [--steps N] [--warmup-dir <dir>] [--max-warmup-steps N] [--lr X]
 *       [--lr-warmup-steps N] [--prompts-per-step N] [--temperature X] [--lora-rank N] [--held-out N]
 *       [--eval-every N] [--svg file.svg] [--results file.json] [--json-out shard.json] [--backend wasm|cpu]
 *       [--threads N]
 *       [--warmup-only]
 * Merge:  … main.ts --merge a.json,b.json,… [--svg file.svg] [--results all.json]   (no training)
 * Through the service:  … main.ts --via-api --base-url http://localhost:8080 --api-key tt-… [--quick] (bench/learning/via-api.ts)
 * Prints held-out accuracy per arm, the paired ΔAUC of every arm against the clamp control with 95 % t-intervals,
 * steps to a fixed accuracy threshold, where wrong completions first went wrong, and writes an SVG of the curves and
 * the paired differences. The report depends only on the results, so shards merged with `--merge` print the same.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

import { setupBackend, type BackendChoice } from '@tracetune/model';
import type { ChainVariant } from '@tracetune/trainer';

import { ARMS, PRESETS, seedsOf, taskLabel, type BenchConfig } from './config';
import { formatReport, formatSvg } from './report';
import { mergeResults, sortRuns, writeResults, type ResultsFile, type RunResult } from './results';
import { evaluateBase, log, runArm, setTrainingThreads, warmUp, warmupStepsOf } from './run';
import { viaApi } from './via-api';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    variant: { type: 'string' },
    model: { type: 'string' },
    seeds: { type: 'string' },
    'seed-list': { type: 'string' },
    arms: { type: 'string' },
    steps: { type: 'string' },
    'max-warmup-steps': { type: 'string' },
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
    /** Training threads per run (libs/trainer's data parallelism; results agree to float rounding). */
    threads: { type: 'string', default: '1' },
    work: { type: 'string', default: 'tmp/bench-learning' },
    'via-api': { type: 'boolean', default: false },
    'base-url': { type: 'string', default: 'http://localhost:8080' },
    'api-key': { type: 'string' },
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
const VARIANTS: readonly ChainVariant[] = ['uniform', 'hard_first', 'hard_last'];

function configFromArgs(): { config: BenchConfig; seeds: number[]; maxWarmupSteps: number } {
  const preset = args.quick ? 'quick' : 'full';
  const {
    seeds: presetSeeds,
    grpoSeeds: _g,
    variants,
    arms: _a,
    maxWarmupSteps,
    ...defaults
  } = PRESETS[preset];
  const variant = (args.variant ?? variants[0]) as ChainVariant;
  if (!VARIANTS.includes(variant)) throw new Error(`--variant: one of ${VARIANTS.join(', ')}`);
  const model = (args.model ?? defaults.model) as BenchConfig['model'];
  if (model !== 'tt-nano' && model !== 'tt-micro') throw new Error('--model: tt-nano or tt-micro');
  const config: BenchConfig = {
    preset,
    ...defaults,
    task: taskLabel(variant),
    variant,
    model,
    warmupSteps: 0,
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
  return {
    config,
    seeds,
    maxWarmupSteps: num('max-warmup-steps', args['max-warmup-steps']) ?? maxWarmupSteps,
  };
}

function selectedArms(): typeof ARMS {
  const names = args.arms ? list(args.arms) : PRESETS[args.quick ? 'quick' : 'full'].arms;
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
  const { config, seeds, maxWarmupSteps } = configFromArgs();
  const arms = selectedArms();
  const work = args.work as string;
  const report = await setupBackend(config.backend as BackendChoice);
  setTrainingThreads(Number(args.threads));
  config.backend = report.backend;
  mkdirSync(work, { recursive: true });
  const started = Date.now();
  let warmupDir = args['warmup-dir'];
  if (!warmupDir) {
    log(
      `warm-up: ${config.model} SFT until validation accuracy ≥ ${config.warmupAccuracy[0]} (≤ ${maxWarmupSteps} steps)`,
    );
    warmupDir = await warmUp(
      {
        variant: config.variant,
        model: config.model,
        band: config.warmupAccuracy,
        maxSteps: maxWarmupSteps,
        maxCompletionTokens: config.maxCompletionTokens,
        checkEvery: 50,
      },
      work,
    );
  }
  config.warmupSteps = warmupStepsOf(warmupDir);
  if (args['warmup-only']) {
    process.stdout.write(`${warmupDir}\n`);
    return;
  }
  const preset = PRESETS[config.preset];
  log(
    `backend ${report.backend}; seeds ${seeds.join(',')} × arms ${arms.map((a) => a.name).join(',')}; ${JSON.stringify(config)}`,
  );
  const base = await evaluateBase(warmupDir, config);
  log(
    `warm-up ready after ${((Date.now() - started) / 1000).toFixed(0)} s (${config.warmupSteps} SFT steps); held-out greedy accuracy ${base.accuracy.toFixed(3)}, mean length ${base.meanLength.toFixed(1)}`,
  );
  const results: RunResult[] = [];
  // An explicit --seed-list runs every selected arm on those seeds (shards); presets give GRPO and μ = 2 fewer seeds.
  for (const arm of arms)
    for (const seed of args['seed-list'] ? seeds : seedsOf(arm.name, seeds, preset))
      results.push(await runArm(config, warmupDir, arm, seed, base, work));
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
  else if (args['via-api'])
    await viaApi({
      baseUrl: args['base-url'] as string,
      apiKey: args['api-key'] ?? process.env['TRACETUNE_API_KEY'],
      quick: !!args.quick,
      work: args.work as string,
    });
  else await train();
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
