import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradients of the kernels Tracetune's models and losses use. `@tensorflow/tfjs-core`'s CommonJS build registers no
 * gradients (only the `@tensorflow/tfjs` union package does, from ESM files Node cannot load), so training with
 * tfjs-core alone fails with "gradient function not found". These follow tfjs-core's own gradient definitions
 * (tfjs-core/src/gradients/*_grad.ts); `registerGradients` registers one only where none exists, so loading the union
 * package (e.g. through tfjs-node) keeps its versions. One set for every library: libs/model (the transformer) and
 * libs/rl-core (the policy objective) both register it, and neither may import the other. Each is checked against
 * finite differences in gradients.spec.ts.
 */

type Grad = tf.GradConfig['gradFunc'];
type Saved = tf.Tensor[];

/** Sums dy over the axes along which `shape` was broadcast, and reshapes to `shape`. */
function unbroadcast(dy: tf.Tensor, shape: number[]): tf.Tensor {
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < dy.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && dy.shape[i] !== 1)) axes.push(i);
  }
  return tf.reshape(axes.length ? tf.sum(dy, axes) : dy, shape);
}

function axesOf(axis: number | number[] | undefined, rank: number): number[] {
  if (axis === undefined || axis === null) return Array.from({ length: rank }, (_, i) => i);
  return (Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a));
}

/** dy reshaped to x's rank with reduced axes kept as 1, ready to broadcast back over x. */
function keepDims(dy: tf.Tensor, xShape: number[], axes: number[]): tf.Tensor {
  const shape = xShape.slice();
  for (const a of axes) shape[a] = 1;
  return tf.reshape(dy, shape);
}

function binary(
  name: string,
  inputs: [string, string],
  da: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  db: (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
): tf.GradConfig {
  return {
    kernelName: name,
    inputsToSave: inputs,
    gradFunc: ((dy: tf.Tensor, saved: Saved) => {
      const [a, b] = saved;
      return {
        [inputs[0]]: () => unbroadcast(da(dy, a, b), a.shape),
        [inputs[1]]: () => unbroadcast(db(dy, a, b), b.shape),
      };
    }) as Grad,
  };
}

function unaryX(name: string, dx: (dy: tf.Tensor, x: tf.Tensor) => tf.Tensor): tf.GradConfig {
  return {
    kernelName: name,
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved) => ({ x: () => dx(dy, x) })) as Grad,
  };
}

function unaryY(name: string, dx: (dy: tf.Tensor, y: tf.Tensor) => tf.Tensor): tf.GradConfig {
  return {
    kernelName: name,
    outputsToSave: [true],
    gradFunc: ((dy: tf.Tensor, [y]: Saved) => ({ x: () => dx(dy, y) })) as Grad,
  };
}

/** Ops whose derivative is zero almost everywhere (comparisons, rounding): needed when they sit on a gradient path. */
function zero(name: string, inputNames: string[]): tf.GradConfig {
  return {
    kernelName: name,
    inputsToSave: inputNames,
    gradFunc: ((_dy: tf.Tensor, saved: Saved) =>
      Object.fromEntries(
        inputNames.map((n, i) => [n, () => tf.zerosLike(tf.cast(saved[i], 'float32'))]),
      )) as Grad,
  };
}

const minMax = (name: string): tf.GradConfig => ({
  kernelName: name,
  inputsToSave: ['x'],
  outputsToSave: [true],
  gradFunc: ((dy: tf.Tensor, [x, y]: Saved, attrs: tf.NamedAttrMap) => {
    const axes = axesOf((attrs['reductionIndices'] ?? attrs['axis']) as number | number[], x.rank); // Max: reductionIndices, Min: axis
    return {
      x: () =>
        tf.mul(keepDims(dy, x.shape, axes), tf.cast(tf.equal(x, keepDims(y, x.shape, axes)), 'float32')),
    };
  }) as Grad,
});

const GRADIENTS: tf.GradConfig[] = [
  binary(
    'Add',
    ['a', 'b'],
    (dy) => dy,
    (dy) => dy,
  ),
  binary(
    'Sub',
    ['a', 'b'],
    (dy) => dy,
    (dy) => tf.neg(dy),
  ),
  binary(
    'Multiply',
    ['a', 'b'],
    (dy, _a, b) => tf.mul(dy, tf.cast(b, 'float32')),
    (dy, a) => tf.mul(dy, tf.cast(a, 'float32')),
  ),
  binary(
    'RealDiv',
    ['a', 'b'],
    (dy, _a, b) => tf.div(dy, b),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, a), tf.mul(b, b))),
  ),
  binary(
    'Maximum',
    ['a', 'b'],
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greaterEqual(a, b), 'float32')),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.less(a, b), 'float32')),
  ),
  binary(
    'Minimum',
    ['a', 'b'],
    (dy, a, b) => tf.mul(dy, tf.cast(tf.lessEqual(a, b), 'float32')),
    (dy, a, b) => tf.mul(dy, tf.cast(tf.greater(a, b), 'float32')),
  ),
  binary(
    'SquaredDifference',
    ['a', 'b'],
    (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(a, b), 2)),
    (dy, a, b) => tf.mul(dy, tf.mul(tf.sub(b, a), 2)),
  ),
  {
    kernelName: 'AddN',
    saveAllInputs: true,
    gradFunc: ((dy: tf.Tensor, saved: Saved) =>
      Object.fromEntries(saved.map((_, i) => [i, () => tf.clone(dy)]))) as Grad,
  },
  { kernelName: 'Neg', gradFunc: ((dy: tf.Tensor) => ({ x: () => tf.neg(dy) })) as Grad },
  { kernelName: 'Identity', gradFunc: ((dy: tf.Tensor) => ({ x: () => tf.clone(dy) })) as Grad },
  unaryY('Exp', (dy, y) => tf.mul(dy, y)),
  unaryX('Log', (dy, x) => tf.div(dy, x)),
  unaryX('Log1p', (dy, x) => tf.div(dy, tf.add(x, 1))),
  unaryX('Sqrt', (dy, x) => tf.div(dy, tf.mul(tf.sqrt(x), 2))),
  unaryX('Rsqrt', (dy, x) => tf.mul(dy, tf.mul(tf.pow(x, -1.5), -0.5))),
  unaryX('Square', (dy, x) => tf.mul(dy, tf.mul(x, 2))),
  unaryX('Abs', (dy, x) => tf.mul(dy, tf.sign(x))),
  unaryY('Sigmoid', (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
  unaryY('Tanh', (dy, y) => tf.mul(dy, tf.sub(1, tf.mul(y, y)))),
  unaryX('Relu', (dy, x) => tf.mul(dy, tf.cast(tf.greater(x, 0), 'float32'))),
  unaryX('Softplus', (dy, x) => tf.mul(dy, tf.sigmoid(x))),
  {
    kernelName: 'Softmax',
    outputsToSave: [true],
    gradFunc: ((dy: tf.Tensor, [y]: Saved, attrs: tf.NamedAttrMap) => {
      const dim = attrs['dim'] as number;
      const dyY = tf.mul(dy, y);
      return { logits: () => tf.sub(dyY, tf.mul(tf.sum(dyY, [dim], true), y)) };
    }) as Grad,
  },
  {
    kernelName: 'Sum',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved, attrs: tf.NamedAttrMap) => {
      const axes = axesOf(attrs['axis'] as number | number[], x.rank);
      return { x: () => tf.mul(keepDims(dy, x.shape, axes), tf.ones(x.shape)) };
    }) as Grad,
  },
  {
    kernelName: 'Mean',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved, attrs: tf.NamedAttrMap) => {
      const axes = axesOf(attrs['axis'] as number | number[], x.rank);
      const n = axes.reduce((s, a) => s * x.shape[a], 1);
      return { x: () => tf.div(tf.mul(keepDims(dy, x.shape, axes), tf.ones(x.shape)), n) };
    }) as Grad,
  },
  minMax('Max'),
  minMax('Min'),
  {
    kernelName: 'ClipByValue',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved, attrs: tf.NamedAttrMap) => {
      const inside = tf.logicalAnd(
        tf.greaterEqual(x, attrs['clipValueMin'] as number),
        tf.lessEqual(x, attrs['clipValueMax'] as number),
      );
      return { x: () => tf.mul(dy, tf.cast(inside, 'float32')) };
    }) as Grad,
  },
  {
    kernelName: 'Select',
    inputsToSave: ['condition'],
    gradFunc: ((dy: tf.Tensor, [c]: Saved) => ({
      condition: () => tf.zerosLike(tf.cast(c, 'float32')),
      t: () => tf.mul(dy, tf.cast(c, 'float32')),
      e: () => tf.mul(dy, tf.cast(tf.logicalNot(c), 'float32')),
    })) as Grad,
  },
  {
    kernelName: 'Reshape',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved) => ({ x: () => tf.reshape(dy, x.shape) })) as Grad,
  },
  {
    kernelName: 'Transpose',
    gradFunc: ((dy: tf.Tensor, _s: Saved, attrs: tf.NamedAttrMap) => {
      const perm = attrs['perm'] as number[];
      const undo = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(dy, undo) };
    }) as Grad,
  },
  {
    kernelName: 'Cast',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved) => ({
      x: () => (x.dtype === 'float32' ? tf.clone(dy) : tf.zerosLike(tf.cast(x, 'float32'))),
    })) as Grad,
  },
  {
    // Gather along one axis (batchDims 0), the embedding lookup: scatter-add dy rows back with UnsortedSegmentSum.
    kernelName: 'GatherV2',
    inputsToSave: ['x', 'indices'],
    gradFunc: ((dy: tf.Tensor, [x, indices]: Saved, attrs: tf.NamedAttrMap) => {
      const axis = axesOf(attrs['axis'] as number, x.rank)[0];
      if ((attrs['batchDims'] as number) > 0)
        throw new Error('GatherV2 gradient: batchDims > 0 is not supported');
      const derX = (): tf.Tensor => {
        const outer = x.shape.slice(0, axis);
        const inner = x.shape.slice(axis + 1);
        const values = tf.reshape(dy, [...outer, indices.size, ...inner]);
        // Move the gathered axis first, scatter-add along it, move it back.
        const perm = [outer.length, ...outer.map((_, i) => i), ...inner.map((_, i) => outer.length + 1 + i)];
        const summed = tf.unsortedSegmentSum(
          tf.transpose(values, perm),
          tf.reshape(indices, [indices.size]) as tf.Tensor1D,
          x.shape[axis],
        );
        return tf.transpose(
          summed,
          perm.map((_, i) => perm.indexOf(i)),
        );
      };
      return { x: derX, indices: () => tf.zerosLike(tf.cast(indices, 'float32')) };
    }) as Grad,
  },
  {
    kernelName: 'Concat',
    saveAllInputs: true,
    gradFunc: ((dy: tf.Tensor, saved: Saved, attrs: tf.NamedAttrMap) => {
      const axis = axesOf(attrs['axis'] as number, saved[0].rank)[0];
      const parts = tf.split(
        dy,
        saved.map((t) => t.shape[axis]),
        axis,
      );
      return Object.fromEntries(parts.map((p, i) => [i, () => p]));
    }) as Grad,
  },
  {
    // Multi-output: dy is the list of the pieces' gradients; the input's gradient is their concatenation.
    kernelName: 'SplitV',
    gradFunc: ((dy: tf.Tensor | tf.Tensor[], _s: Saved, attrs: tf.NamedAttrMap) => ({
      x: () => tf.concat(dy as tf.Tensor[], attrs['axis'] as number),
    })) as Grad,
  },
  {
    kernelName: 'Slice',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved, attrs: tf.NamedAttrMap) => {
      // begin and size as the op received them (a number, a short list, −1 sizes): normalised as the kernel does.
      const [begin, size] = tf.slice_util.parseSliceParams(
        x,
        attrs['begin'] as number | number[],
        attrs['size'] as number | number[],
      );
      const pads = x.shape.map((n, i) => [begin[i], n - begin[i] - size[i]] as [number, number]);
      return { x: () => tf.pad(dy, pads) };
    }) as Grad,
  },
  {
    // tf.stack: each input's gradient is its slice of dy along the new axis.
    kernelName: 'Pack',
    saveAllInputs: true,
    gradFunc: ((dy: tf.Tensor, _s: Saved, attrs: tf.NamedAttrMap) =>
      Object.fromEntries(tf.unstack(dy, attrs['axis'] as number).map((t, i) => [i, () => t]))) as Grad,
  },
  {
    kernelName: 'PadV2',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved, attrs: tf.NamedAttrMap) => {
      const pads = attrs['paddings'] as [number, number][];
      return {
        x: () =>
          tf.slice(
            dy,
            pads.map((p) => p[0]),
            x.shape,
          ),
      };
    }) as Grad,
  },
  {
    kernelName: 'Tile',
    inputsToSave: ['x'],
    gradFunc: ((dy: tf.Tensor, [x]: Saved, attrs: tf.NamedAttrMap) => {
      const reps = attrs['reps'] as number[];
      // dy [r0·n0, r1·n1, …] → [r0, n0, r1, n1, …] → sum over the r axes.
      const split = x.shape.flatMap((n, i) => [reps[i], n]);
      return {
        x: () =>
          tf.reshape(
            tf.sum(
              tf.reshape(dy, split),
              x.shape.map((_, i) => 2 * i),
            ),
            x.shape,
          ),
      };
    }) as Grad,
  },
  {
    // Generic batched matmul (our own matmul/bmm helpers have custom gradients; this covers tf.matMul elsewhere).
    kernelName: 'BatchMatMul',
    inputsToSave: ['a', 'b'],
    gradFunc: ((dy: tf.Tensor, [a, b]: Saved, attrs: tf.NamedAttrMap) => {
      const ta = attrs['transposeA'] as boolean;
      const tb = attrs['transposeB'] as boolean;
      const mm = (x: tf.Tensor, y: tf.Tensor, tx: boolean, ty: boolean): tf.Tensor => tf.matMul(x, y, tx, ty);
      if (!ta && !tb) return { a: () => mm(dy, b, false, true), b: () => mm(a, dy, true, false) };
      if (!ta && tb) return { a: () => mm(dy, b, false, false), b: () => mm(dy, a, true, false) };
      if (ta && !tb) return { a: () => mm(b, dy, false, true), b: () => mm(a, dy, false, false) };
      return { a: () => mm(b, dy, true, true), b: () => mm(dy, a, true, true) };
    }) as Grad,
  },
  {
    kernelName: 'Pow',
    inputsToSave: ['a', 'b'],
    outputsToSave: [true],
    gradFunc: ((dy: tf.Tensor, [a, b, y]: Saved) => ({
      a: () => unbroadcast(tf.mul(dy, tf.mul(b, tf.pow(a, tf.sub(b, 1)))), a.shape),
      b: () =>
        unbroadcast(tf.mul(dy, tf.mul(y, tf.log(tf.where(tf.greater(a, 0), a, tf.onesLike(a))))), b.shape),
    })) as Grad,
  },
  zero('Greater', ['a', 'b']),
  zero('GreaterEqual', ['a', 'b']),
  zero('Less', ['a', 'b']),
  zero('LessEqual', ['a', 'b']),
  zero('Equal', ['a', 'b']),
  zero('NotEqual', ['a', 'b']),
  zero('LogicalAnd', ['a', 'b']),
  zero('LogicalOr', ['a', 'b']),
  zero('LogicalNot', ['x']),
  zero('Floor', ['x']),
  zero('Ceil', ['x']),
  zero('Round', ['x']),
  zero('Sign', ['x']),
  zero('ZerosLike', ['x']),
  zero('OnesLike', ['x']),
];

/** Registers the gradients above where tfjs has none (idempotent; safe next to the union package). */
export function registerGradients(): void {
  for (const g of GRADIENTS) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
}

registerGradients();
