import * as tf from '@tensorflow/tfjs-core';

/**
 * tfjs-core registers no gradient functions by itself: the `@tensorflow/tfjs` umbrella does, through an ES-module
 * file (`register_all_gradients`) that CommonJS Node cannot load. So that the objective is differentiable by
 * autograd on any backend, this module registers the gradients of the kernels the objective uses — the same
 * formulas as tfjs's own `src/gradients/*_grad.ts` — but only where none is registered yet, so a full registration
 * (the umbrella, or the model library) is never overridden.
 */

type GradConfig = Parameters<typeof tf.registerGradient>[0];

function reduceTo(res: tf.Tensor, shape: number[], outShape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, outShape);
  return tf.reshape(axes.length > 0 ? tf.sum(res, axes) : res, shape);
}

function outShapeOf(a: tf.Tensor, b: tf.Tensor): number[] {
  return tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
}

const configs: GradConfig[] = [
  {
    kernelName: tf.Add,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => reduceTo(dy as tf.Tensor, a.shape, outShapeOf(a, b)),
      b: () => reduceTo(dy as tf.Tensor, b.shape, outShapeOf(a, b)),
    }),
  },
  {
    kernelName: tf.Sub,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => reduceTo(dy as tf.Tensor, a.shape, outShapeOf(a, b)),
      b: () => reduceTo(tf.neg(dy as tf.Tensor), b.shape, outShapeOf(a, b)),
    }),
  },
  {
    kernelName: tf.Multiply,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => reduceTo(tf.mul(dy as tf.Tensor, tf.cast(b, 'float32')), a.shape, outShapeOf(a, b)),
      b: () => reduceTo(tf.mul(dy as tf.Tensor, tf.cast(a, 'float32')), b.shape, outShapeOf(a, b)),
    }),
  },
  {
    kernelName: tf.RealDiv,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () => reduceTo(tf.div(dy as tf.Tensor, tf.cast(b, 'float32')), a.shape, outShapeOf(a, b)),
      b: () =>
        tf.neg(
          tf.div(
            reduceTo(tf.mul(dy as tf.Tensor, tf.cast(a, 'float32')), b.shape, outShapeOf(a, b)),
            tf.square(b),
          ),
        ),
    }),
  },
  { kernelName: tf.Identity, gradFunc: (dy) => ({ x: () => tf.cast(dy as tf.Tensor, 'float32') }) },
  { kernelName: tf.Cast, gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) },
  { kernelName: tf.ZerosLike, gradFunc: (dy) => ({ x: () => tf.zerosLike(dy as tf.Tensor) }) },
  { kernelName: tf.Neg, gradFunc: (dy) => ({ x: () => tf.neg(dy as tf.Tensor) }) },
  {
    kernelName: tf.Exp,
    outputsToSave: [true],
    gradFunc: (dy, [y]) => ({ x: () => tf.mul(dy as tf.Tensor, y) }),
  },
  {
    kernelName: tf.ClipByValue,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { clipValueMin, clipValueMax } = attrs as unknown as tf.ClipByValueAttrs;
      const d = dy as tf.Tensor;
      return {
        x: () =>
          tf.where(
            tf.logicalAnd(tf.greaterEqual(x, clipValueMin), tf.lessEqual(x, clipValueMax)),
            d,
            tf.zerosLike(d),
          ),
      };
    },
  },
  {
    kernelName: tf.Minimum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () =>
        reduceTo(tf.mul(dy as tf.Tensor, tf.cast(tf.lessEqual(a, b), 'float32')), a.shape, outShapeOf(a, b)),
      b: () =>
        reduceTo(tf.mul(dy as tf.Tensor, tf.cast(tf.greater(a, b), 'float32')), b.shape, outShapeOf(a, b)),
    }),
  },
  {
    kernelName: tf.Maximum,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b]) => ({
      a: () =>
        reduceTo(
          tf.mul(dy as tf.Tensor, tf.cast(tf.greaterEqual(a, b), 'float32')),
          a.shape,
          outShapeOf(a, b),
        ),
      b: () =>
        reduceTo(tf.mul(dy as tf.Tensor, tf.cast(tf.less(a, b), 'float32')), b.shape, outShapeOf(a, b)),
    }),
  },
  {
    kernelName: tf.Select,
    inputsToSave: ['condition'],
    gradFunc: (dy, [condition]) => {
      const d = dy as tf.Tensor;
      return {
        condition: () => tf.cast(tf.zerosLike(condition), 'float32'),
        t: () => tf.mul(d, tf.cast(condition, d.dtype)),
        e: () => tf.mul(d, tf.cast(tf.logicalNot(condition), d.dtype)),
      };
    },
  },
  {
    kernelName: tf.BatchMatMul,
    inputsToSave: ['a', 'b'],
    gradFunc: (dy, [a, b], attrs) => {
      const { transposeA, transposeB } = attrs as unknown as tf.BatchMatMulAttrs;
      const d = dy as tf.Tensor;
      if (!transposeA && !transposeB)
        return { a: () => tf.matMul(d, b, false, true), b: () => tf.matMul(a, d, true, false) };
      if (!transposeA) return { a: () => tf.matMul(d, b), b: () => tf.matMul(d, a, true, false) };
      if (!transposeB) return { a: () => tf.matMul(b, d, false, true), b: () => tf.matMul(a, d) };
      return { a: () => tf.matMul(b, d, true, true), b: () => tf.matMul(d, a, true, true) };
    },
  },
  {
    kernelName: tf.Reshape,
    inputsToSave: ['x'],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(dy as tf.Tensor, x.shape) }),
  },
  {
    kernelName: tf.PadV2,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { paddings } = attrs as unknown as tf.PadV2Attrs;
      return {
        x: () =>
          tf.slice(
            dy as tf.Tensor,
            paddings.map((p) => p[0]),
            x.shape,
          ),
      };
    },
  },
  {
    kernelName: tf.Slice,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { begin, size } = attrs as unknown as tf.SliceAttrs;
      const [begin_, size_] = tf.slice_util.parseSliceParams(x, begin, size);
      const paddings = x.shape.map((dim, i): [number, number] => [begin_[i], dim - begin_[i] - size_[i]]);
      return { x: () => tf.pad(dy as tf.Tensor, paddings) };
    },
  },
  {
    kernelName: tf.Pack,
    saveAllInputs: true,
    gradFunc: (dy, _saved, attrs) => {
      const { axis } = attrs as unknown as tf.PackAttrs;
      return Object.fromEntries(tf.unstack(dy as tf.Tensor, axis).map((t, i) => [String(i), () => t]));
    },
  },
  {
    kernelName: tf.Concat,
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const { axis } = attrs as unknown as tf.ConcatAttrs;
      const $axis = tf.util.parseAxisParam(axis, saved[0].shape)[0];
      const parts = tf.split(
        dy as tf.Tensor,
        saved.map((t) => t.shape[$axis]),
        $axis,
      );
      return Object.fromEntries(parts.map((t, i) => [String(i), () => t]));
    },
  },
  {
    kernelName: tf.Sum,
    inputsToSave: ['x'],
    gradFunc: (dy, [x], attrs) => {
      const { axis } = attrs as unknown as tf.SumAttrs;
      const expanded = x.shape.slice();
      tf.util.parseAxisParam(axis, x.shape).forEach((a) => (expanded[a] = 1));
      return { x: () => tf.mul(tf.reshape(dy as tf.Tensor, expanded), tf.ones(x.shape, 'float32')) };
    },
  },
];

let registered = false;

/** Registers the gradients above that nobody has registered yet; idempotent. */
export function ensureObjectiveGradients(): void {
  if (registered) return;
  for (const config of configs) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
  registered = true;
}
