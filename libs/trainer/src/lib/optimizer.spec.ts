import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { tempDir, useBackend } from '../../test/helpers';
import { AdamW, GradientAccumulator } from './optimizer';

const CONFIG = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };

describe('AdamW', () => {
  beforeAll(() => useBackend('cpu'));

  it('should move each weight by lr·sign(g) on the first step (m̂/√v̂ = g/|g|)', () => {
    const w = tf.variable(tf.tensor1d([1, 2, 3]));
    const adam = new AdamW([{ name: 'w', variable: w }], CONFIG);
    adam.apply(new Map([['w', tf.tensor1d([0.5, -2, 1e-3])]]), 0.1);
    const got = Array.from(w.dataSync());
    [0.9, 2.1, 2.9].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 5));
    adam.dispose();
    w.dispose();
  });

  it('should free all its tensors on dispose', () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const before = tf.memory().numTensors;
    const adam = new AdamW([{ name: 'w', variable: w }], CONFIG);
    adam.apply(new Map([['w', tf.tensor1d([1, 1])]]), 0.1);
    adam.dispose();
    expect(tf.memory().numTensors).toBe(before + 1); // the gradient passed in stays the caller's
    w.dispose();
  });

  it('should continue identically after saving and loading its moments', () => {
    const run = (reload: boolean): number[] => {
      const w = tf.variable(tf.tensor1d([1, -1]));
      let adam = new AdamW([{ name: 'w', variable: w }], CONFIG);
      const grads = [
        [0.3, -0.2],
        [0.1, 0.4],
        [-0.5, 0.2],
      ];
      grads.forEach((g, k) => {
        if (reload && k === 2) {
          const path = join(tempDir('adam'), 'optimizer.safetensors');
          adam.save(path);
          adam.dispose();
          adam = new AdamW([{ name: 'w', variable: w }], CONFIG);
          adam.load(path);
        }
        adam.apply(new Map([['w', tf.tensor1d(g)]]), 0.01);
      });
      const out = Array.from(w.dataSync());
      adam.dispose();
      w.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
  });

  it('should accumulate gradients by stable name and report their global norm', () => {
    const acc = new GradientAccumulator();
    const names = new Map([['m0/w', 'w']]);
    acc.add({ 'm0/w': tf.tensor1d([3, 0]) }, names);
    acc.add({ 'm0/w': tf.tensor1d([0, 4]) }, names);
    expect(acc.globalNorm()).toBeCloseTo(5, 6);
    acc.scale(0.2);
    expect(acc.globalNorm()).toBeCloseTo(1, 6);
    acc.dispose();
  });
});
