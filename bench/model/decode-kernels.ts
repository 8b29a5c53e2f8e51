/**
 * Decode-step kernels on the tfjs wasm backend: the packed matmul kernel (libs/model/src/kernels/matmul.wat) against
 * tfjs-backend-wasm's own matmul (XNNPACK), in one process, interleaved rounds, best of each:
 *   1. the matmuls of one decode step of tt-micro (8 layers × q|k|v|rope, o, gate|up, down; M rows, weights cycling
 *      through the caches as in a real step) → ms and GMAC/s;
 *   2. whole slot-cache decode steps of tt-micro (40-token contexts growing by 64) with the kernel registered and
 *      unregistered → ms per step and the batching gain (M rows per step against M single steps).
 *
 *   npx ts-node -T -r tsconfig-paths/register -P tsconfig.bench.json bench/model/decode-kernels.ts [--rows 1,4,8,16,24]
 */
import * as tf from '@tensorflow/tfjs-core';

import { builtinConfig, decodeSlots, setupBackend, SlotCache, TransformerModel } from '@tracetune/model';

import { PACKED_MATMUL, packedMatMul, packWeight } from '../../libs/model/src/kernels/matmul';

const rowsArg = process.argv.indexOf('--rows');
const ROWS = (rowsArg > 0 ? process.argv[rowsArg + 1] : '1,4,8,16,24').split(',').map(Number);
const ROUNDS = 3;

function best(times: Map<string, number>, key: string, ms: number): void {
  times.set(key, Math.min(times.get(key) ?? Infinity, ms));
}

async function main(): Promise<void> {
  await setupBackend('wasm');
  const kernel = tf.getKernel(PACKED_MATMUL, 'wasm');
  if (!kernel) throw new Error('the packed matmul kernel is not registered');
  const config = builtinConfig('tt-micro');
  const C = config.hidden_size;
  const I = config.intermediate_size;
  const H = config.num_attention_heads;
  const Hkv = config.num_key_value_heads;
  const D = config.head_dim;
  const shapes = [
    [C, 2 * (H + Hkv) * D + Hkv * D],
    [H * D, C],
    [C, 2 * I],
    [I, C],
  ];
  const layers = Array.from({ length: config.num_hidden_layers }, () =>
    shapes.map(([k, n]) => tf.randomNormal([k, n]) as tf.Tensor2D),
  );
  const packed = layers.map((l) => l.map((w) => packWeight(w)));
  const macsPerRow = shapes.reduce((s, [k, n]) => s + k * n, 0) * layers.length;
  const matmuls = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const M of ROWS) {
      const inputs = shapes.map(([k]) => tf.randomNormal([M, k]) as tf.Tensor2D);
      for (const kind of ['xnnpack', 'packed'] as const) {
        const run = (): void => {
          for (let l = 0; l < layers.length; l++) {
            for (let i = 0; i < shapes.length; i++)
              (kind === 'packed'
                ? packedMatMul(inputs[i], packed[l][i])
                : tf.matMul(inputs[i], layers[l][i])
              ).dispose();
          }
        };
        for (let i = 0; i < 10; i++) run();
        const reps = 100;
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) run();
        best(matmuls, `${kind} ${M}`, (performance.now() - t0) / reps);
      }
      tf.dispose(inputs);
    }
  }
  console.log(
    `tt-micro decode-step matmuls (${(macsPerRow / 1e6).toFixed(2)} M MAC per row), best of ${ROUNDS} rounds`,
  );
  console.log('rows  XNNPACK ms  GMAC/s  packed ms  GMAC/s  speed-up');
  for (const M of ROWS) {
    const x = matmuls.get(`xnnpack ${M}`) as number;
    const p = matmuls.get(`packed ${M}`) as number;
    const g = (ms: number): string => ((M * macsPerRow) / ms / 1e6).toFixed(1).padStart(6);
    console.log(
      `${String(M).padStart(4)}  ${x.toFixed(3).padStart(10)}  ${g(x)}  ${p.toFixed(3).padStart(9)}  ${g(p)}  ${(x / p).toFixed(2).padStart(7)}×`,
    );
  }

  // Whole decode steps: one model per variant (each keeps its own derived weights).
  const models = { packed: TransformerModel.random(config, 1), xnnpack: TransformerModel.random(config, 1) };
  const steps = new Map<string, number>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const M of ROWS) {
      for (const kind of ['xnnpack', 'packed'] as const) {
        if (kind === 'packed' && !tf.getKernel(PACKED_MATMUL, 'wasm')) tf.registerKernel(kernel);
        if (kind === 'xnnpack') tf.unregisterKernel(PACKED_MATMUL, 'wasm');
        const model = models[kind];
        const cache = new SlotCache(model);
        const slots = Array.from({ length: M }, () => cache.allocate());
        const tokens = (t: number): number[] => slots.map((s) => (s * 7 + t) % config.vocab_size);
        for (let t = 0; t < 40; t++) decodeSlots(model, cache, slots, tokens(t));
        const t0 = performance.now();
        for (let t = 0; t < 64; t++) decodeSlots(model, cache, slots, tokens(t));
        best(steps, `${kind} ${M}`, (performance.now() - t0) / 64);
        cache.dispose();
      }
    }
  }
  if (!tf.getKernel(PACKED_MATMUL, 'wasm')) tf.registerKernel(kernel);
  console.log('\ntt-micro slot-cache decode steps (contexts 40 → 104), best of 3 rounds');
  console.log('rows  XNNPACK ms/step  batching gain  packed ms/step  batching gain  speed-up');
  const single = { xnnpack: steps.get('xnnpack 1') as number, packed: steps.get('packed 1') as number };
  for (const M of ROWS) {
    const x = steps.get(`xnnpack ${M}`) as number;
    const p = steps.get(`packed ${M}`) as number;
    const gain = (ms: number, one: number): string => `${((M * one) / ms).toFixed(2)}×`.padStart(13);
    console.log(
      `${String(M).padStart(4)}  ${x.toFixed(3).padStart(15)}  ${gain(x, single.xnnpack)}  ${p.toFixed(3).padStart(14)}  ${gain(p, single.packed)}  ${(x / p).toFixed(2).padStart(7)}×`,
    );
  }
}

void main();
