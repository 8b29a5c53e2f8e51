/**
 * Time of the batched GRPO-λ loss + gradient (w.r.t. logπ_θ) against the completion length T, on the tfjs `cpu`
 * and `wasm` backends, and the ratio to an O(T²) baseline (the same loss with the T×T trace matrix) measured in
 * the same run. Run: npx ts-node -P tsconfig.bench.json bench/rl-core/main.ts [--quick]
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import '@tensorflow/tfjs-backend-cpu';

import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import {
  computePolicyLoss,
  createRlConfig,
  PolicyLossBatch,
  referenceSequenceObjective,
  RlConfig,
  traceStyles,
} from '../../libs/rl-core/src';

const QUICK = process.argv.includes('--quick');
const B = 16;
const LENGTHS = QUICK ? [256, 512, 1024] : [256, 512, 1024, 2048, 4096, 8192];
const BASELINE_T = QUICK ? 1024 : 2048;
/** The O(T²) baseline is also timed around BASELINE_T to show its growth. */
const BASELINE_LENGTHS = QUICK ? [512, 1024] : [1024, 2048, 4096];

function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBatch(T: number): PolicyLossBatch {
  const rand = seeded(T);
  const old = Float32Array.from({ length: B * T }, () => -0.05 - 3 * rand());
  const shifted = (scale: number): Float32Array => old.map((v) => v + scale * (rand() - 0.5));
  return {
    logpOld: tf.tensor2d(old, [B, T]),
    logpNew: tf.tensor2d(shifted(0.02), [B, T]),
    logpRef: tf.tensor2d(shifted(0.05), [B, T]),
    completionMask: tf.ones([B, T]),
    groupIds: Array.from({ length: B }, (_, i) => Math.floor(i / 8)),
    rewards: Array.from({ length: B }, () => Math.round(rand())),
  };
}

/** One loss + gradient evaluation, synchronised by reading the gradient back. */
function scanStep(batch: PolicyLossBatch, config: RlConfig): void {
  const grad = tf.grad((x: tf.Tensor) => {
    const result = computePolicyLoss({ ...batch, logpNew: x as tf.Tensor2D }, config);
    result.dispose();
    return result.loss;
  })(batch.logpNew);
  grad.dataSync();
  grad.dispose();
}

/**
 * The O(T²) baseline, run through the very same `computePolicyLoss` pipeline: a trace style registered under a
 * bench-only name whose traced log-ratio is z = d·Mᵀ with the T×T trace matrix M[t, k] = tr(t, t−k) (built once per
 * T on the host, like a constant). Only the scan is swapped, so the ratio measures the scan against the matrix.
 */
function registerMatrixStyle(style: 'recent' | 'both'): string {
  const name = `${style}-matrix-baseline`;
  const matrices = new Map<string, tf.Tensor2D>();
  traceStyles.register(name, (params) => {
    const credit = traceStyles.get(style)(params);
    return {
      ...credit,
      tracedLogRatio: (d) => {
        const T = d.shape[1];
        const key = `${T}/${params.decay}/${params.floor}`;
        let matrix = matrices.get(key);
        if (matrix === undefined) {
          const values = new Float32Array(T * T); // [k, t] = tr(t, t−k)
          for (let t = 0; t < T; t++)
            for (let k = 0; k <= t; k++) values[k * T + t] = credit.weight(t, t - k);
          matrix = tf.keep(tf.tensor2d(values, [T, T]));
          matrices.clear();
          matrices.set(key, matrix);
        }
        return tf.matMul(d, matrix) as tf.Tensor2D; // [B, T]·[T, T]
      },
    };
  });
  return name;
}

/** Median milliseconds of `reps` runs after `warmup` runs. */
function time(step: () => void, reps: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) step();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = process.hrtime.bigint();
    step();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

/** Largest gradient error of the batched path on this backend against the float64 reference, relative to max |∇|. */
function checkAgainstReference(config: RlConfig): number {
  const T = 512;
  const rand = seeded(99);
  const rows = [0, 1].map(() => {
    const old = Array.from({ length: T }, () => -0.05 - 3 * rand());
    return {
      old,
      neu: old.map((v) => v + 0.02 * (rand() - 0.5)),
      ref: old.map((v) => v + 0.05 * (rand() - 0.5)),
    };
  });
  const batch: PolicyLossBatch = {
    logpNew: tf.tensor2d(rows.map((r) => r.neu)),
    logpOld: tf.tensor2d(rows.map((r) => r.old)),
    logpRef: tf.tensor2d(rows.map((r) => r.ref)),
    completionMask: tf.ones([2, T]),
    groupIds: [0, 0],
    rewards: [1, 0],
  };
  const grad = tf.grad((x: tf.Tensor) => {
    const result = computePolicyLoss({ ...batch, logpNew: x as tf.Tensor2D }, config);
    result.dispose();
    return result.loss;
  })(batch.logpNew);
  const got = grad.arraySync() as number[][];
  tf.dispose([grad, batch.logpNew, batch.logpOld, batch.logpRef!, batch.completionMask]);
  let worst = 0;
  rows.forEach((row, i) => {
    const reference = referenceSequenceObjective({
      logpNew: row.neu,
      logpOld: row.old,
      logpRef: row.ref,
      groupRewards: [1, 0],
      index: i,
      config: {
        estimator: config.estimator,
        gamma: config.gamma,
        lambda: config.lambda,
        traceStyle: config.traceStyle,
        variant: config.variant,
        clipEps: config.epsilon,
        beta: config.beta,
        advEps: config.advEps,
        stdMode: config.stdMode,
        advantageClampMin: config.advantageClampMin,
        traceFloor: config.traceFloor,
      },
    });
    const expected = reference.gradLogpNew.map((g) => g / 2);
    const scale = Math.max(...expected.map(Math.abs));
    expected.forEach((e, t) => (worst = Math.max(worst, Math.abs(got[i][t] - e) / scale)));
  });
  return worst;
}

function runOn(backendName: string, matrixStyles: Record<'recent' | 'both', string>): void {
  console.log(`\n## backend ${backendName}, B = ${B}, loss + gradient (median ms)`);
  for (const style of ['both', 'recent'] as const) {
    const config = createRlConfig({ traceStyle: style, beta: 0.04 });
    const error = checkAgainstReference(config);
    console.log(
      `\n${style}/eps_trace (λ = 0.99, β = 0.04); gradient vs float64 reference at T = 512: max error ${error.toExponential(1)} of max |∇|`,
    );
    console.log('     T |   ms/step | µs per token·row |  ×prev (T doubles; 2.0 = linear)');
    let previous: number | null = null;
    const scanTimes = new Map<number, number>();
    for (const T of LENGTHS) {
      const batch = randomBatch(T);
      const ms = time(() => scanStep(batch, config), T >= 4096 ? 5 : 9);
      scanTimes.set(T, ms);
      const growth = previous === null ? '' : (ms / previous).toFixed(2);
      console.log(
        `${String(T).padStart(6)} | ${ms.toFixed(2).padStart(9)} | ${((ms * 1000) / (B * T)).toFixed(3).padStart(16)} | ${growth.padStart(6)}`,
      );
      previous = ms;
      tf.dispose([batch.logpNew, batch.logpOld, batch.logpRef!, batch.completionMask]);
    }
    // From T = 1024 on, where fixed per-call overhead no longer dominates.
    const fromT = QUICK ? LENGTHS[0] : 1024;
    const first = scanTimes.get(fromT)! / fromT;
    const last = scanTimes.get(LENGTHS[LENGTHS.length - 1])! / LENGTHS[LENGTHS.length - 1];
    console.log(
      `time per token, T = ${LENGTHS[LENGTHS.length - 1]} vs T = ${fromT}: ×${(last / first).toFixed(2)} (1 = linear; ${LENGTHS[LENGTHS.length - 1] / fromT} would be quadratic)`,
    );
    const matrixConfig = createRlConfig({
      traceStyle: matrixStyles[style] as RlConfig['traceStyle'],
      beta: 0.04,
    });
    console.log('O(T²) baseline: the same loss with z = d·Mᵀ (T×T trace matrix):');
    let previousQuadratic: number | null = null;
    for (const T of BASELINE_LENGTHS) {
      const batch = randomBatch(T);
      const quadratic = time(() => scanStep(batch, matrixConfig), 3, 1);
      const growth = previousQuadratic === null ? '' : ` (×${(quadratic / previousQuadratic).toFixed(2)})`;
      const scan = scanTimes.get(T);
      const versus =
        scan === undefined
          ? ''
          : ` vs scan ${scan.toFixed(2)} ms → scan ${(quadratic / scan).toFixed(1)}× faster`;
      console.log(
        `${String(T).padStart(6)} | ${quadratic.toFixed(2).padStart(9)} ms${growth}${versus}${T === BASELINE_T ? '   <- T = ' + BASELINE_T : ''}`,
      );
      previousQuadratic = quadratic;
      tf.dispose([batch.logpNew, batch.logpOld, batch.logpRef!, batch.completionMask]);
    }
  }
}

async function main(): Promise<void> {
  const wasmDist = path.join(
    path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')),
    'dist',
  );
  setWasmPaths(wasmDist + '/');
  const backends = ['wasm', 'cpu'];
  const matrixStyles = { recent: registerMatrixStyle('recent'), both: registerMatrixStyle('both') };
  for (const name of backends) {
    if (!(await tf.setBackend(name))) {
      console.log(`\n## backend ${name}: not available, skipped`);
      continue;
    }
    await tf.ready();
    runOn(name, matrixStyles);
  }
  console.log('\nNote: timings are on a shared 2-core machine; other jobs add noise.');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
