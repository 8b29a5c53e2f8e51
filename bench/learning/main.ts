/**
 * Learning benchmark: does GRPO-λ learn faster than GRPO from the same SFT warm-up, at the same prompts per step and
 * the same sampled-token budget? Arms: GRPO; GRPO-λ `recent`; GRPO-λ `both`; GRPO + the same −0.1 negative-advantage
 * clamp (control: separates the clamp's effect from the traces'). Every arm of a seed sees the same prompts in the same
 * order (the data order derives from the run seed) and starts from the same warm-up weights.
 *
 * Run:  npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/learning/main.ts [--quick]
 *       [--seeds N] [--steps N] [--warmup-steps N] [--svg docs/learning-curves.svg] [--backend wasm|cpu]
 * Prints mean ± std held-out accuracy curves per arm, the target metric (steps for each GRPO-λ arm to reach GRPO's
 * final held-out accuracy, on curves smoothed over 3 evaluations), grad norms per arm and throughput per phase, and
 * writes an SVG plot.
 */
import { type BackendChoice, setupBackend } from '@tracetune/model';
import {
  evaluateModelDir,
  generateArithmetic,
  mathAnswerGrader,
  resolveAlgorithm,
  resolveHyperparameters,
  type ResolvedAlgorithm,
  runTraining,
  type StepMetrics,
  toJsonl,
  type TrainingRunSpec,
} from '@tracetune/trainer';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    seeds: { type: 'string' },
    steps: { type: 'string' },
    'warmup-steps': { type: 'string' },
    svg: { type: 'string', default: 'docs/learning-curves.svg' },
    backend: { type: 'string', default: 'wasm' },
    work: { type: 'string', default: 'tmp/bench-learning' },
    /** Reuse a warm-up model directory (skips the SFT phase). */
    'warmup-dir': { type: 'string' },
  },
});

const QUICK = args.quick ?? false;
const SEEDS = Number(args.seeds ?? (QUICK ? 2 : 6));
const RL_STEPS = Number(args.steps ?? (QUICK ? 12 : 60));
const WARMUP_STEPS = Number(args['warmup-steps'] ?? (QUICK ? 300 : 1000));
const EVAL_EVERY = QUICK ? 3 : 5;
/** 'custom' when the seeds, steps or warm-up were overridden: the printed numbers are then not the full benchmark's. */
const MODE = QUICK ? 'quick' : args.seeds || args.steps || args['warmup-steps'] || args['warmup-dir'] ? 'custom' : 'full';
const HELD_OUT = QUICK ? 24 : 64;
const WORK = args.work as string;
const RL_LR = 5e-5;

/**
 * The task: 4 chained additions of operands 1..6, with the verbose worked solution ("Step k: a + b = c" lines,
 * ≥ 64 byte tokens): long completions are where per-token credit assignment should matter. Additions of small
 * operands because tt-nano learns them in a few hundred SFT steps; with ± and operands up to 9, 300 warm-up steps
 * left held-out accuracy at 0–8 % and RL had no signal (first quick runs).
 */
const TASK = { difficulty: 'long' as const, operandMax: 6, operators: ['+'] as '+'[] };
const TASK_LABEL = `arithmetic (4 chained + of 1..${TASK.operandMax}, verbose solutions)`;

const ARMS: { name: string; algorithm: Partial<ResolvedAlgorithm> }[] = [
  { name: 'grpo', algorithm: { name: 'grpo', advantage_clamp_min: null } },
  { name: 'grpo_lambda_recent', algorithm: { name: 'grpo_lambda', trace_style: 'recent', lambda: 0.99, advantage_clamp_min: -0.1 } },
  { name: 'grpo_lambda_both', algorithm: { name: 'grpo_lambda', trace_style: 'both', lambda: 0.99, advantage_clamp_min: -0.1 } },
  { name: 'grpo_clamp', algorithm: { name: 'grpo', advantage_clamp_min: -0.1 } },
];

/** Shared RL settings: identical prompts per step (4) and sampled-token budget (G = 8 × ≤ 96 tokens) in every arm. */
const RL_COMMON: Partial<ResolvedAlgorithm> = {
  num_generations: 8,
  max_completion_tokens: 128,
  // Below 1: the warm-up model is weak (greedy ≈ 10 % after a short SFT) and temperature 1 samples almost no
  // correct answers; the same temperature is used in every arm and for nothing else.
  temperature: 0.7,
  top_p: 1,
  beta: 0,
  micro_batch_size: 4,
  ppo_epochs: 1,
};
const PROMPTS_PER_STEP = 4;

interface RunResult {
  arm: string;
  seed: number;
  evalSteps: number[];
  evalAccuracy: number[];
  gradNorms: number[];
  phase: Record<string, number>;
  rewards: number[];
  seconds: number;
}

const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const sd = (xs: readonly number[]): number => {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
};
const smooth3 = (xs: readonly number[]): number[] => xs.map((_, i) => mean(xs.slice(Math.max(0, i - 2), i + 1)));
const log = (m: string): void => void process.stderr.write(`${m}\n`);

async function warmUp(): Promise<string> {
  const sft = generateArithmetic({ n: 4000, seed: 11, ...TASK });
  const root = join(WORK, 'warmup');
  rmSync(root, { recursive: true, force: true });
  const spec: TrainingRunSpec = {
    method: 'supervised',
    baseModel: { kind: 'builtin', name: 'tt-nano' },
    trainingJsonl: toJsonl(sft, 'sft'),
    hyperparameters: resolveHyperparameters({ batch_size: 16, n_epochs: 10 }),
    seed: 0,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    // SFT from random init: a larger LR than the tiny-model default (3e-4) to get somewhere in a few hundred steps.
    trainer: { maxSteps: WARMUP_STEPS, baseLearningRate: 2e-3, sftMicroBatchSize: 16, warmupRatio: 0.05 },
  };
  const t0 = Date.now();
  const outcome = await runTraining(spec, {
    checkpointRoot: root,
    callbacks: {
      onStep: (step, total, m) => {
        if (step % 25 === 0 || step === total) log(`  warm-up step ${step}/${total} loss ${m['loss'].toFixed(3)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      },
    },
  });
  return outcome.modelDir as string;
}

async function runArm(warmupDir: string, arm: (typeof ARMS)[number], seed: number, train: string, heldOut: string, baseline: number): Promise<RunResult> {
  const spec: TrainingRunSpec = {
    method: 'reinforcement',
    baseModel: { kind: 'directory', path: warmupDir },
    trainingJsonl: train,
    validationJsonl: heldOut,
    grader: mathAnswerGrader(),
    hyperparameters: resolveHyperparameters({ batch_size: PROMPTS_PER_STEP, n_epochs: 100, eval_interval: EVAL_EVERY, eval_samples: 0 }),
    algorithm: resolveAlgorithm({ ...RL_COMMON, ...arm.algorithm }),
    seed,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    // Constant LR, no warm-up: the arms differ only in the estimator; Adam absorbs the trace weights' global scale.
    // 5e-5: at 3e-4 (the tiny-model full fine-tuning default) a first quick run lost the warm-up's accuracy within
    // 3 steps in every arm (Adam's first updates move every weight by ≈ lr whatever the signal).
    trainer: { maxSteps: RL_STEPS, lrSchedule: 'constant', warmupRatio: 0, baseLearningRate: RL_LR },
  };
  const result: RunResult = { arm: arm.name, seed, evalSteps: [0], evalAccuracy: [baseline], gradNorms: [], phase: {}, rewards: [], seconds: 0 };
  const phaseSums: Record<string, number[]> = {};
  const t0 = Date.now();
  const root = join(WORK, `${arm.name}-s${seed}`);
  await runTraining(spec, {
    checkpointRoot: root,
    callbacks: {
      onStep: (step, _total, m: StepMetrics) => {
        result.gradNorms.push(m['grad_norm']);
        result.rewards.push(m['reward']);
        for (const [k, v] of Object.entries(m)) if (k.startsWith('throughput/') || k.startsWith('time/')) (phaseSums[k] ??= []).push(v);
        if (m['eval_accuracy'] !== undefined) {
          result.evalSteps.push(step);
          result.evalAccuracy.push(m['eval_accuracy']);
        }
      },
    },
  });
  rmSync(root, { recursive: true, force: true });
  result.seconds = (Date.now() - t0) / 1000;
  for (const [k, v] of Object.entries(phaseSums)) result.phase[k] = mean(v);
  log(`  ${arm.name} seed ${seed}: held-out acc ${result.evalAccuracy.map((a) => a.toFixed(2)).join(' ')} (${result.seconds.toFixed(0)} s)`);
  return result;
}

function svgPlot(steps: number[], curves: { name: string; mean: number[]; sd: number[] }[], title: string): string {
  const W = 640;
  const H = 400;
  const m = { l: 60, r: 170, t: 40, b: 50 };
  const maxX = Math.max(...steps, 1);
  const maxY = Math.max(0.05, ...curves.flatMap((c) => c.mean.map((v, i) => v + c.sd[i]))) * 1.1;
  const x = (s: number): number => m.l + ((W - m.l - m.r) * s) / maxX;
  const y = (v: number): number => H - m.b - ((H - m.t - m.b) * v) / maxY;
  const colors = ['#1f77b4', '#d62728', '#2ca02c', '#7f7f7f'];
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="14">${title}</text>`,
    `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="black"/>`,
    `<line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="black"/>`,
    `<text x="${(W - m.r + m.l) / 2}" y="${H - 12}" text-anchor="middle">RL step</text>`,
    `<text x="16" y="${(H - m.b + m.t) / 2}" transform="rotate(-90 16 ${(H - m.b + m.t) / 2})" text-anchor="middle">held-out accuracy (greedy)</text>`,
  ];
  for (let i = 0; i <= 4; i++) {
    const v = (maxY * i) / 4;
    parts.push(`<text x="${m.l - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(2)}</text>`);
    parts.push(`<line x1="${m.l}" y1="${y(v)}" x2="${W - m.r}" y2="${y(v)}" stroke="#eee"/>`);
  }
  for (const s of steps) parts.push(`<text x="${x(s)}" y="${H - m.b + 16}" text-anchor="middle">${s}</text>`);
  curves.forEach((c, k) => {
    const color = colors[k % colors.length];
    const upper = steps.map((s, i) => `${x(s).toFixed(1)},${y(c.mean[i] + c.sd[i]).toFixed(1)}`);
    const lower = steps.map((s, i) => `${x(s).toFixed(1)},${y(Math.max(0, c.mean[i] - c.sd[i])).toFixed(1)}`).reverse();
    parts.push(`<polygon points="${[...upper, ...lower].join(' ')}" fill="${color}" opacity="0.12"/>`);
    parts.push(`<polyline points="${steps.map((s, i) => `${x(s).toFixed(1)},${y(c.mean[i]).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<line x1="${W - m.r + 12}" y1="${m.t + 18 * k}" x2="${W - m.r + 32}" y2="${m.t + 18 * k}" stroke="${color}" stroke-width="2"/>`);
    parts.push(`<text x="${W - m.r + 38}" y="${m.t + 18 * k + 4}">${c.name}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

async function main(): Promise<void> {
  const report = await setupBackend(args.backend as BackendChoice);
  log(`backend ${report.backend}; ${MODE} mode: ${SEEDS} seeds × ${ARMS.length} arms × ${RL_STEPS} RL steps, warm-up ${WARMUP_STEPS} SFT steps`);
  mkdirSync(WORK, { recursive: true });
  const started = Date.now();
  const warmupDir = args['warmup-dir'] ?? (await warmUp());
  const train = toJsonl(generateArithmetic({ n: 2000, seed: 21, ...TASK }), 'rft');
  const heldOut = toJsonl(generateArithmetic({ n: HELD_OUT, seed: 99, ...TASK }), 'rft');
  const base = await evaluateModelDir(warmupDir, heldOut, mathAnswerGrader(), {
    samples: 0, maxCompletionTokens: 128, temperature: 1, topP: 1, passThreshold: 1, seed: 0,
  });
  log(`warm-up done in ${((Date.now() - started) / 1000).toFixed(0)} s; held-out greedy accuracy ${base['eval_accuracy'].toFixed(3)}, mean length ${base['eval_completions/mean_length'].toFixed(1)}`);

  const results: RunResult[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    for (const arm of ARMS) results.push(await runArm(warmupDir, arm, seed, train, heldOut, base['eval_accuracy']));
  }

  const steps = results[0].evalSteps;
  const curves = ARMS.map((arm) => {
    const runs = results.filter((r) => r.arm === arm.name);
    const per = steps.map((_, i) => runs.map((r) => r.evalAccuracy[i]));
    return { name: arm.name, mean: per.map(mean), sd: per.map(sd), runs };
  });
  const out: string[] = [];
  out.push(`\n## Learning benchmark (${MODE}): tt-nano, ${TASK_LABEL}, ${SEEDS} paired seeds`);
  out.push(`warm-up: ${WARMUP_STEPS} SFT steps; held-out greedy accuracy after warm-up ${base['eval_accuracy'].toFixed(3)} on ${HELD_OUT} prompts`);
  out.push(`RL: ${RL_STEPS} steps × ${PROMPTS_PER_STEP} prompts × G = ${RL_COMMON.num_generations} (≤ ${RL_COMMON.max_completion_tokens} tokens), LR ${RL_LR} constant, temperature ${RL_COMMON.temperature}\n`);
  out.push(`held-out accuracy, mean ± std over seeds, at step:`);
  out.push(['arm'.padEnd(20), ...steps.map((s) => String(s).padStart(13))].join(''));
  for (const c of curves) out.push([c.name.padEnd(20), ...c.mean.map((v, i) => `${v.toFixed(3)}±${c.sd[i].toFixed(3)}`.padStart(13))].join(''));
  const grpoSmoothed = smooth3(curves[0].mean);
  const target = grpoSmoothed[grpoSmoothed.length - 1];
  out.push(`\ntarget: GRPO's final held-out accuracy, smoothed over 3 evaluations = ${target.toFixed(3)} (reached by GRPO at step ${steps[steps.length - 1]})`);
  if (target <= base['eval_accuracy']) {
    out.push(`  undefined: GRPO's final accuracy does not exceed the warm-up's (${base['eval_accuracy'].toFixed(3)}), so there is nothing to reach`);
  }
  for (const c of curves.slice(1)) {
    const sm = smooth3(c.mean);
    // Step 0 is the shared warm-up: only evaluations after RL started count.
    const at = sm.findIndex((v, i) => i > 0 && v >= target);
    out.push(`  ${c.name.padEnd(20)} reaches it at step ${at < 0 ? 'never (within the run)' : steps[at]}; final smoothed ${sm[sm.length - 1].toFixed(3)}`);
  }
  out.push(`\nper arm: grad norm (mean, max), training reward (first 3 steps → last 3 steps), phase throughput (tokens/s) and wall time per run`);
  for (const c of curves) {
    const norms = c.runs.flatMap((r) => r.gradNorms);
    const early = mean(c.runs.flatMap((r) => r.rewards.slice(0, 3)));
    const late = mean(c.runs.flatMap((r) => r.rewards.slice(-3)));
    const phase = (k: string): string => mean(c.runs.map((r) => r.phase[k])).toFixed(0);
    out.push(
      `  ${c.name.padEnd(20)} grad_norm ${mean(norms).toFixed(3)} (max ${Math.max(...norms).toFixed(3)})  reward ${early.toFixed(3)} → ${late.toFixed(3)}  ` +
        `sampling ${phase('throughput/sampling_tokens_per_second')}  update ${phase('throughput/update_tokens_per_second')}  ` +
        `grading ${phase('throughput/grading_samples_per_second')} samples/s  reference ${phase('throughput/reference_tokens_per_second')} (β = 0: none)  ` +
        `${mean(c.runs.map((r) => r.seconds)).toFixed(0)} s/run`,
    );
  }
  out.push(`\ntotal wall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(out.join('\n') + '\n');
  const svg = svgPlot(steps, curves, `GRPO vs GRPO-λ, tt-nano arithmetic (${SEEDS} seeds × ${RL_STEPS} steps, ${MODE})`);
  writeFileSync(args.svg as string, svg);
  log(`wrote ${args.svg}`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
