import * as tf from '@tensorflow/tfjs-core';

import '@tensorflow/tfjs-backend-cpu';

import { registerGradients } from './gradients';

/**
 * Each registered gradient against a central finite difference (f(x+ε) − f(x−ε)) / 2ε of the scalar Σ w·f(x) with fixed
 * random weights w. Inputs avoid kinks (|x| ≥ 0.2 away from 0 for abs/relu, positive for log/sqrt/rsqrt).
 */
describe('registered gradients', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
    registerGradients();
  });

  const x0 = [0.5, -1.2, 0.9, 1.7, -0.4, 0.3];
  const pos = [0.5, 1.2, 0.9, 1.7, 0.4, 0.3];
  // Built lazily: no backend exists while jest collects the cases.
  const other = (): tf.Tensor => tf.tensor2d([0.7, -0.3, 1.1, 0.2, -0.9, 0.6], [2, 3]);
  const row = (): tf.Tensor => tf.tensor1d([0.8, -1.5, 0.4]);
  const cases: [string, number[], (x: tf.Tensor) => tf.Tensor][] = [
    ['add (broadcast)', x0, (x) => tf.add(x, row())],
    ['add (broadcast, other side)', [0.5, -1.2, 0.9], (x) => tf.add(other(), x)],
    ['sub', x0, (x) => tf.sub(row(), x)],
    ['mul (broadcast)', [0.5, -1.2, 0.9], (x) => tf.mul(other(), x)],
    ['div', pos, (x) => tf.div(other(), x)],
    ['neg/exp/log', pos, (x) => tf.log(tf.add(tf.exp(tf.neg(x)), 1))],
    ['sqrt/rsqrt/square', pos, (x) => tf.add(tf.sqrt(x), tf.mul(tf.rsqrt(x), tf.square(x)))],
    ['sigmoid/tanh/softplus', x0, (x) => tf.add(tf.sigmoid(x), tf.mul(tf.tanh(x), tf.softplus(x)))],
    ['abs/relu', x0, (x) => tf.add(tf.abs(x), tf.relu(x))],
    ['softmax', x0, (x) => tf.softmax(x)],
    ['logSumExp (max, sum)', x0, (x) => tf.logSumExp(x, -1)],
    ['mean', x0, (x) => tf.mean(tf.mul(x, x), 0)],
    ['min', x0, (x) => tf.min(x, 1)],
    ['maximum/minimum', x0, (x) => tf.add(tf.maximum(x, 0.1), tf.minimum(x, other()))],
    ['clipByValue', x0, (x) => tf.clipByValue(x, -1, 1)],
    ['where (select)', x0, (x) => tf.where(tf.greater(x, 0), tf.mul(x, 3), tf.mul(x, x))],
    ['transpose/reshape', x0, (x) => tf.mul(tf.reshape(tf.transpose(x), [2, 3]), other())],
    ['gather', x0, (x) => tf.gather(x, tf.tensor1d([1, 0, 1], 'int32'))],
    [
      'concat/slice/pad',
      x0,
      (x) =>
        tf.pad(tf.slice(tf.concat([x, tf.mul(x, 2)], 1), [0, 1], [2, 4]), [
          [1, 0],
          [0, 2],
        ]),
    ],
    ['slice (number begin, −1 size)', x0, (x) => tf.slice(x, 1, -1)],
    ['stack', [0.5, -1.2, 0.9], (x) => tf.mul(tf.stack([x, tf.mul(x, x)], 0), other())],
    ['tile', x0, (x) => tf.tile(x, [2, 3])],
    // (copy before reversing: tf.split returns the array the gradient tape keeps as the kernel's outputs)
    ['split', x0, (x) => tf.concat(tf.split(x, [1, 2], 1).slice().reverse(), 1)],
    ['matMul (transposed)', x0, (x) => tf.matMul(x, other(), false, true)],
    ['pow', pos, (x) => tf.pow(x, tf.scalar(2.5))],
    ['squaredDifference', x0, (x) => tf.squaredDifference(x, other())],
  ];

  it.each(cases)('should match finite differences for %s', (_name, data, f) => {
    const shape = data.length === 6 ? [2, 3] : [data.length];
    const x = tf.tensor(data, shape);
    const objective = (t: tf.Tensor): tf.Scalar =>
      tf.tidy(() => {
        const y = f(t);
        return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', 17))) as tf.Scalar;
      });
    const analytic = tf.grad(objective)(x).dataSync();
    const eps = 1e-2;
    data.forEach((_, i) => {
      const at = (d: number): number => {
        const v = data.slice();
        v[i] += d;
        return objective(tf.tensor(v, shape)).dataSync()[0];
      };
      const numeric = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(analytic[i] - numeric)).toBeLessThan(2e-2 * Math.max(1, Math.abs(numeric)));
    });
  });
});
