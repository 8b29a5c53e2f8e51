import * as tf from '@tensorflow/tfjs-core';

import { applyGrads, maxAbsDiff, values } from '../test/helpers';
import { setupBackend } from './backend';
import { builtinConfig } from './config';
import { TransformerModel } from './model';
import { bmm, matmul } from './ops';
import { generate } from './sampler';

/** Runs `f` on the cpu backend and on wasm, returning both results as host arrays. */
async function onBoth(f: () => number[][]): Promise<{ cpu: number[][]; wasm: number[][] }> {
  await tf.setBackend('cpu');
  const cpu = f();
  await tf.setBackend('wasm');
  const wasm = f();
  return { cpu, wasm };
}

function randn(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

describe('wasm backend fixes (compared with the cpu backend)', () => {
  beforeAll(async () => {
    await setupBackend('cpu');
    const report = await setupBackend('wasm');
    expect(report.backend).toBe('wasm');
  });

  it('should choose the best available backend with auto and explain the fallbacks', async () => {
    const report = await setupBackend('auto');
    expect(['tensorflow', 'wasm']).toContain(report.backend);
    if (report.backend === 'wasm') {
      // Native tfjs-node(-gpu) cannot load here (no libtensorflow) and webgpu has no hardware adapter (CI has lavapipe
      // at most): all three must be reported as skipped, in the order tried.
      expect(report.fallbacks.map((f) => f.choice)).toEqual(['tensorflow-gpu', 'webgpu', 'tensorflow']);
      expect(report.reason).toMatch(/auto: wasm/);
    }
  });

  it('should provide UnsortedSegmentSum (gather gradient) on wasm, equal to cpu', async () => {
    // ids repeat (0 twice, 3 twice) and one is out of range (7 ≥ numSegments 5: dropped, as in TensorFlow).
    const ids = [0, 3, 0, 3, 1, 7];
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => [values(tf.unsortedSegmentSum(randn([6, 3], 1), tf.tensor1d(ids, 'int32'), 5))]),
    );
    expect(tf.getKernel('UnsortedSegmentSum', 'wasm')).toBeDefined();
    expect(maxAbsDiff(wasm[0], cpu[0])).toBeLessThan(1e-6);
  });

  it('should slice and split on wasm (copy-free reads) exactly like cpu, for every axis and dtype', async () => {
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => {
        const x = randn([3, 4, 5, 6], 11);
        const ints = tf.reshape(tf.range(0, 24, 1, 'int32'), [4, 6]);
        return [
          tf.slice(x, [1, 0, 2, 0], [2, 4, 3, 6]), // partial axes 0 and 2, whole trailing axis
          tf.slice(x, [0, 1, 0, 0], [-1, 2, -1, -1]),
          tf.slice(x, [2, 3, 4, 5], [1, 1, 1, 1]),
          tf.slice(ints, [1, 2], [2, 3]),
          ...tf.split(x, 3, 0),
          ...tf.split(x, [1, 3, 2], 3),
          ...tf.split(x, [2, -1], 1),
        ].map(values);
      }),
    );
    expect(wasm).toEqual(cpu);
  });

  it('should clone on wasm by sharing the buffer, keeping values valid after the original is disposed', async () => {
    await tf.setBackend('wasm');
    const buffers = (): number => tf.engine().backend.numDataIds();
    const before = buffers();
    const x = tf.tensor1d([1, 2, 3]);
    const y = tf.clone(x);
    expect(y.dataId).toBe(x.dataId);
    expect(buffers() - before).toBe(1); // one buffer shared by both tensors
    x.dispose();
    expect(values(y)).toEqual([1, 2, 3]);
    y.dispose();
    expect(buffers()).toBe(before);
  });

  it('should give the embedding (gather) gradient on wasm equal to cpu', async () => {
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => {
        const table = randn([10, 4], 2);
        const idx = tf.tensor1d([1, 4, 1, 9, 0], 'int32');
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.gather(t, idx), randn([5, 4], 3))))(table);
        return [values(g)];
      }),
    );
    expect(maxAbsDiff(wasm[0], cpu[0])).toBeLessThan(1e-5);
  });

  it('should give transpose-free matmul helpers the values and gradients of tf.matMul', async () => {
    const { cpu, wasm } = await onBoth(() =>
      tf.tidy(() => {
        const a = randn([5, 7], 4);
        const b = randn([7, 3], 5);
        const a3 = randn([2, 5, 7], 6);
        const b3 = randn([2, 7, 3], 7);
        const w = randn([5, 3], 8);
        const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(matmul(x as tf.Tensor2D, y as tf.Tensor2D), w)),
        )([a, b]);
        const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), w)),
        )([a, b]);
        const ours3 = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(bmm(x as tf.Tensor3D, y as tf.Tensor3D), w)),
        )([a3, b3]);
        const ref3 = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(x as tf.Tensor3D, y as tf.Tensor3D), w)),
        )([a3, b3]);
        return [
          ...ours,
          ...ref,
          ...ours3,
          ...ref3,
          matmul(a as tf.Tensor2D, b as tf.Tensor2D),
          tf.matMul(a, b),
        ].map(values);
      }),
    );
    for (const r of [cpu, wasm]) {
      expect(maxAbsDiff(r[0], r[2])).toBeLessThan(1e-5);
      expect(maxAbsDiff(r[1], r[3])).toBeLessThan(1e-5);
      expect(maxAbsDiff(r[4], r[6])).toBeLessThan(1e-5);
      expect(maxAbsDiff(r[5], r[7])).toBeLessThan(1e-5);
      expect(maxAbsDiff(r[8], r[9])).toBeLessThan(1e-5);
    }
    wasm.forEach((v, i) => expect(maxAbsDiff(v, cpu[i])).toBeLessThan(1e-4));
  });

  it('should compute tt-nano log-probs, gradients, an Adam step and greedy samples on wasm like cpu', async () => {
    const ids = [
      [72, 101, 108, 108, 111, 44, 32, 119],
      [97, 98, 99, 100, 101, 102, 103, 104],
    ];
    const targets = ids.map((r) => [...r.slice(1), 33]);
    const { cpu, wasm } = await onBoth(() => {
      const model = TransformerModel.random(builtinConfig('tt-nano'), 9);
      const opt = tf.train.adam(1e-2);
      const { value, grads } = tf.variableGrads(
        () => tf.neg(tf.mean(model.logProbsOfTargets(ids, targets).logProbs)) as tf.Scalar,
      );
      const gradEmb = values(grads[model.weight('model.embed_tokens.weight').name]);
      const gradQ = values(grads[model.weight('model.layers.2.self_attn.q_proj.weight').name]);
      applyGrads(opt, grads);
      const lp = model.logProbsOfTargets(ids, targets).logProbs;
      const out = [
        values(value),
        gradEmb,
        gradQ,
        values(lp),
        generate(model, [ids[0]], { maxNewTokens: 6, temperature: 0 })[0].tokens,
      ];
      tf.dispose([value, grads, lp]);
      opt.dispose();
      model.dispose();
      return out;
    });
    expect(Math.abs(wasm[0][0] - cpu[0][0])).toBeLessThan(1e-4);
    expect(maxAbsDiff(wasm[1], cpu[1])).toBeLessThan(1e-4);
    expect(maxAbsDiff(wasm[2], cpu[2])).toBeLessThan(1e-4);
    expect(maxAbsDiff(wasm[3], cpu[3])).toBeLessThan(1e-3);
    expect(wasm[4]).toEqual(cpu[4]);
  });
});
