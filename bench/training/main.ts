/**
 * Training-threads benchmark: the RL step time (sampling + grading + update, the real job's phases through
 * runTraining) of tt-nano and tt-micro at 1 thread and at every thread count up to the cores available, the speed-up
 * over 1 thread, and the train step (forward + backward + clip + AdamW, batch 8 × 128 tokens, through the trainer's
 * SFT step) next to PyTorch's on the same architecture and shapes at the same thread count (bench/model/torch_bench.py,
 * torch.set_num_threads; skipped with a note when /usr/bin/python3 cannot import torch). One run, one machine.
 *
 *   npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/training/main.ts [--quick]
 *     [--models tt-nano,tt-micro] [--max-threads N]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import { resolveAlgorithm } from '@tracetune/contracts';
import { builtinConfig, setupBackend, type ModelConfig } from '@tracetune/model';
import {
  generateArithmetic,
  mathAnswerGrader,
  runTraining,
  toJsonl,
  type StepMetrics,
  type TrainingRunSpec,
} from '@tracetune/trainer';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const models = (arg('--models') ?? 'tt-nano,tt-micro').split(',');
const maxThreads = Number(arg('--max-threads') ?? availableParallelism());
/** Prompts × completions per RL step and completion length; steps measured after one warm-up step. */
const RL = { prompts: quick ? 4 : 8, group: 8, tokens: quick ? 32 : 64, steps: quick ? 2 : 3 };
const TRAIN = { batch: 8, seq: 128, steps: quick ? 2 : 4 };

const work = mkdtempSync(join(tmpdir(), 'bench-training-'));
const file = (name: string, text: string): string => {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
};

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Step metrics of the steps after the first (warm-up) of a run on `threads` threads. */
async function measuredSteps(spec: TrainingRunSpec, threads: number): Promise<StepMetrics[]> {
  const steps: StepMetrics[] = [];
  const root = mkdtempSync(join(work, 'run-'));
  await runTraining(spec, {
    checkpointRoot: root,
    threads,
    callbacks: { onStep: (_s, _t, m) => void steps.push(m) },
  });
  rmSync(root, { recursive: true, force: true });
  return steps.slice(1);
}

function rlSpec(model: string): TrainingRunSpec {
  const problems = generateArithmetic({ n: RL.prompts * (RL.steps + 1), seed: 5, difficulty: 'short' });
  const hyperparameters = {
    n_epochs: 1,
    batch_size: RL.prompts,
    learning_rate_multiplier: 1,
    eval_interval: 0,
    eval_samples: 0,
    compute_multiplier: 1,
  };
  return {
    method: 'reinforcement',
    baseModel: { kind: 'builtin', name: model },
    trainingFile: file(`rl-${model}.jsonl`, toJsonl(problems, 'rft')),
    grader: mathAnswerGrader(),
    hyperparameters,
    algorithm: resolveAlgorithm({ num_generations: RL.group, max_completion_tokens: RL.tokens }, RL.prompts),
    lora: null,
    seed: 1,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
  };
}

/** SFT batch of 8 conversations cut to exactly 128 tokens: the shapes of torch_bench.py's train step. */
function trainSpec(model: string): TrainingRunSpec {
  const line = (i: number): string =>
    JSON.stringify({
      messages: [
        { role: 'user', content: `Question ${i}: repeat the digits.` },
        { role: 'assistant', content: String(i).repeat(200).slice(0, 200) },
      ],
    });
  const lines = Array.from({ length: TRAIN.batch * (TRAIN.steps + 1) }, (_, i) => line(i + 1));
  return {
    method: 'supervised',
    baseModel: { kind: 'builtin', name: model },
    trainingFile: file(`sft-${model}.jsonl`, lines.join('\n') + '\n'),
    hyperparameters: {
      n_epochs: 1,
      batch_size: TRAIN.batch,
      learning_rate_multiplier: 1,
      eval_interval: 0,
      eval_samples: 0,
      compute_multiplier: 1,
    },
    seed: 1,
    checkpointInterval: 0,
    sampleInterval: 0,
    passThreshold: 1,
    trainer: { maxSequenceTokens: TRAIN.seq, sftMicroBatchSize: TRAIN.batch },
  };
}

/** PyTorch's train step (ms) at `threads` threads, or why there is none. */
function torchTrainStep(config: ModelConfig, threads: number): number | string {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return 'PyTorch not importable from /usr/bin/python3';
  const job = {
    config,
    threads,
    train: { batch: TRAIN.batch, seq: TRAIN.seq, warmup: 2, steps: TRAIN.steps + 2 },
    generate: { batches: [], prompt: 16, new: 1 },
  };
  const script = join(__dirname, '..', 'model', 'torch_bench.py');
  const r = spawnSync('/usr/bin/python3', [script, JSON.stringify(job)], { encoding: 'utf8' });
  if (r.status !== 0) return `torch_bench.py failed: ${r.stderr.trim().split('\n').pop()}`;
  return (JSON.parse(r.stdout) as { train_step_ms: number }).train_step_ms;
}

interface Row {
  threads: number;
  rl: number;
  sampling: number;
  update: number;
  train: number;
  torch: number | string;
}

async function benchModel(model: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (let threads = 1; threads <= maxThreads; threads++) {
    const rl = await measuredSteps(rlSpec(model), threads);
    const train = await measuredSteps(trainSpec(model), threads);
    rows.push({
      threads,
      rl: median(rl.map((m) => m['step_time'])),
      sampling: median(rl.map((m) => m['time/sampling'])),
      update: median(rl.map((m) => m['time/update'])),
      train: median(train.map((m) => m['step_time'])) * 1000,
      torch: torchTrainStep(builtinConfig(model), threads),
    });
  }
  return rows;
}

function report(model: string, rows: Row[]): void {
  console.log(`\n${model}: RL step = ${RL.prompts} prompts × ${RL.group} completions ≤ ${RL.tokens} tokens`);
  console.log(
    '| threads | RL step (s) | sampling (s) | update (s) | speed-up | train step (ms) | PyTorch (ms) | ratio |',
  );
  console.log(
    '| ------- | ----------- | ------------ | ---------- | -------- | --------------- | ------------ | ----- |',
  );
  for (const r of rows) {
    const torch = typeof r.torch === 'number' ? r.torch.toFixed(1) : 'n/a';
    const ratio = typeof r.torch === 'number' ? `${(r.train / r.torch).toFixed(2)}×` : 'n/a';
    const cells = [r.threads, r.rl.toFixed(2), r.sampling.toFixed(2), r.update.toFixed(2)];
    console.log(
      `| ${cells.join(' | ')} | ${(rows[0].rl / r.rl).toFixed(2)}× | ${r.train.toFixed(1)} | ${torch} | ${ratio} |`,
    );
  }
  const note = rows.find((r) => typeof r.torch === 'string')?.torch;
  if (note) console.log(`(no PyTorch baseline: ${note})`);
}

async function main(): Promise<void> {
  const backend = await setupBackend('wasm');
  const load = (): string =>
    loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores, node ${process.version}`,
  );
  console.log(`backend: ${backend.backend}; load average before: ${load()}${quick ? '; quick mode' : ''}`);
  console.log(
    'speed-up = RL step at 1 thread / at N; ratio = our train step / PyTorch train step at the same threads',
  );
  try {
    for (const model of models) report(model, await benchModel(model));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`\nload average after: ${load()}`);
}

void main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
