/**
 * Model benchmark: train-step time (forward + backward + Adam) and KV-cache sampling throughput (batch 1 and 16) for
 * tt-nano and tt-micro on the tfjs wasm backend, next to the same architecture and shapes in PyTorch on the same CPU
 * (bench/model/torch_bench.py through /usr/bin/python3, skipped with a note when torch is not importable), printing
 * the ratios, plus a per-kernel profile of one train step.
 *
 *   npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/model/main.ts [--quick] [--threads N]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { builtinConfig, generate, setupBackend, TransformerModel, type ModelConfig } from '@tracetune/model';

const quick = process.argv.includes('--quick');
const threadsArg = process.argv.indexOf('--threads');
const torchThreads = threadsArg > 0 ? Number(process.argv[threadsArg + 1]) : 1;
const TRAIN = { batch: 8, seq: 128, warmup: 2, steps: quick ? 3 : 6 };
const GEN = { batches: [1, 16], prompt: 16, new: quick ? 32 : 64 };

interface Figures {
  trainStepMs: number;
  tokensPerS: Record<string, number>;
}

function applyGrads(opt: tf.Optimizer, grads: tf.NamedTensorMap): void {
  opt.applyGradients(grads as Parameters<tf.Optimizer['applyGradients']>[0]);
}

function randomIds(b: number, t: number, seed: number): number[][] {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2147483648) % 256;
  return Array.from({ length: b }, () => Array.from({ length: t }, next));
}

function benchTfjs(config: ModelConfig): { figures: Figures; profile: [string, number][] } {
  const model = TransformerModel.random(config, 0);
  const ids = randomIds(TRAIN.batch, TRAIN.seq, 1);
  const targets = randomIds(TRAIN.batch, TRAIN.seq, 2);
  const opt = tf.train.adam(1e-3);
  const step = (): void => {
    const { value, grads } = tf.variableGrads(
      () => tf.neg(tf.mean(model.logProbsOfTargets(ids, targets).logProbs)) as tf.Scalar,
    );
    applyGrads(opt, grads);
    value.dataSync();
    tf.dispose([value, grads]);
  };
  for (let i = 0; i < TRAIN.warmup; i++) step();
  const t0 = performance.now();
  for (let i = 0; i < TRAIN.steps; i++) step();
  const trainStepMs = (performance.now() - t0) / TRAIN.steps;

  const tokensPerS: Record<string, number> = {};
  for (const b of GEN.batches) {
    const prompts = randomIds(b, GEN.prompt, 3 + b);
    const opts = { maxNewTokens: GEN.new, temperature: 1, seed: 1, stopTokenIds: [] };
    generate(model, prompts, { ...opts, maxNewTokens: 4 }); // warm-up
    const s0 = performance.now();
    const out = generate(model, prompts, opts);
    const n = out.reduce((s, c) => s + c.tokens.length, 0);
    tokensPerS[String(b)] = n / ((performance.now() - s0) / 1000);
  }
  opt.dispose();
  model.dispose();
  return { figures: { trainStepMs, tokensPerS }, profile: [] };
}

/** Per-kernel time of one train step (tf.profile; wall time per kernel on wasm). */
async function profileStep(config: ModelConfig): Promise<[string, number][]> {
  const model = TransformerModel.random(config, 0);
  const ids = randomIds(TRAIN.batch, TRAIN.seq, 1);
  const opt = tf.train.adam(1e-3);
  const run = (): void => {
    const { value, grads } = tf.variableGrads(
      () => tf.neg(tf.mean(model.logProbsOfTargets(ids, ids).logProbs)) as tf.Scalar,
    );
    applyGrads(opt, grads);
    tf.dispose([value, grads]);
  };
  run();
  const info = await tf.profile(run);
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const key = k.name === 'BatchMatMul' ? `BatchMatMul rank${k.inputShapes[0]?.length ?? '?'}` : k.name;
    byKernel.set(key, (byKernel.get(key) ?? 0) + ms);
  }
  opt.dispose();
  model.dispose();
  return [...byKernel.entries()].sort((a, b) => b[1] - a[1]);
}

function best(a: Figures | undefined, b: Figures): Figures {
  if (!a) return b;
  const tokensPerS: Record<string, number> = {};
  for (const k of Object.keys(b.tokensPerS)) tokensPerS[k] = Math.max(a.tokensPerS[k] ?? 0, b.tokensPerS[k]);
  return { trainStepMs: Math.min(a.trainStepMs, b.trainStepMs), tokensPerS };
}

function benchTorch(config: ModelConfig): (Figures & { torch: string; threads: number }) | string {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0)
    return 'PyTorch not importable from /usr/bin/python3 (apt-get install python3-torch libopenblas0-pthread)';
  const job = { config, train: TRAIN, generate: GEN, threads: torchThreads };
  const r = spawnSync('/usr/bin/python3', [join(__dirname, 'torch_bench.py'), JSON.stringify(job)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return `torch_bench.py failed: ${r.stderr.trim().split('\n').pop()}`;
  const o = JSON.parse(r.stdout) as {
    train_step_ms: number;
    sample_tokens_per_s: Record<string, number>;
    torch: string;
    threads: number;
  };
  return {
    trainStepMs: o.train_step_ms,
    tokensPerS: o.sample_tokens_per_s,
    torch: o.torch,
    threads: o.threads,
  };
}

async function main(): Promise<void> {
  const report = await setupBackend('wasm', (m) => console.log(m));
  console.log(
    `backend: ${report.backend}; train batch ${TRAIN.batch}×${TRAIN.seq}; sampling prompt ${GEN.prompt}, ${GEN.new} new tokens`,
  );
  console.log('(2 shared cores: other processes on this machine make timings noisy)\n');
  for (const name of ['tt-nano', 'tt-micro']) {
    const config = builtinConfig(name);
    // Interleave three rounds of each and keep the best figure of each side: the machine is shared, and the minimum is
    // the measurement least disturbed by other processes.
    const rounds = quick ? 1 : 3;
    let figures: Figures | undefined;
    let torch: ReturnType<typeof benchTorch> | undefined;
    for (let r = 0; r < rounds; r++) {
      figures = best(figures, benchTfjs(config).figures);
      const t = benchTorch(config);
      torch =
        typeof t === 'string' || torch === undefined || typeof torch === 'string'
          ? t
          : { ...t, ...best(torch, t) };
    }
    if (!figures || !torch) throw new Error('no rounds ran');
    console.log(`== ${name} (C=${config.hidden_size}, ${config.num_hidden_layers} layers)`);
    const line = (
      label: string,
      ours: number,
      theirs: number | undefined,
      unit: string,
      lowerIsBetter: boolean,
    ): void => {
      // Ratio = tfjs time / torch time (train) or torch throughput / tfjs throughput (sampling): < 1 means tfjs is faster.
      const ratio =
        theirs === undefined
          ? ''
          : `   torch ${theirs.toFixed(1)} ${unit}   ratio ${(lowerIsBetter ? ours / theirs : theirs / ours).toFixed(2)}× (tfjs time / torch time)`;
      console.log(`  ${label.padEnd(22)} tfjs-wasm ${ours.toFixed(1)} ${unit}${ratio}`);
    };
    const t = typeof torch === 'string' ? undefined : torch;
    line('train step', figures.trainStepMs, t?.trainStepMs, 'ms', true);
    for (const b of GEN.batches)
      line(`sampling batch ${b}`, figures.tokensPerS[String(b)], t?.tokensPerS[String(b)], 'tok/s', false);
    if (typeof torch === 'string') console.log(`  (no PyTorch baseline: ${torch})`);
    else console.log(`  (PyTorch ${torch.torch}, ${torch.threads} thread(s); tfjs-wasm runs on one thread)`);
    const profile = await profileStep(config);
    const total = profile.reduce((s, [, ms]) => s + ms, 0);
    console.log(`  train-step profile (kernel wall time, total ${total.toFixed(0)} ms):`);
    for (const [k, ms] of profile.slice(0, 10))
      console.log(`    ${k.padEnd(24)} ${ms.toFixed(1).padStart(8)} ms  ${((100 * ms) / total).toFixed(1)}%`);
    console.log('');
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
