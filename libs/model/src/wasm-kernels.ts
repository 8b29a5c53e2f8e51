import * as tf from '@tensorflow/tfjs-core';

import { ATTENTION_KERNELS } from './kernels/attention';
import { PACKED_MATMUL_KERNELS } from './kernels/matmul';

/** The parts of the wasm backend a JS kernel needs (see tfjs-backend-wasm BackendWasm). */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  readSync(dataId: tf.DataId): ArrayLike<number>;
}

/**
 * UnsortedSegmentSum for the wasm backend, which lacks it; tfjs needs it for the gradient of `gather` (the embedding
 * backward). out[segmentIds[i], …] += x[i, …]; ids outside [0, numSegments) are dropped (TensorFlow semantics).
 * A plain JS loop over the wasm heap: O(x.size), runs once per step on [B*T, C].
 */
function unsortedSegmentSum(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackendLike;
  const { x, segmentIds } = args.inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
  const numSegments = (args.attrs as { numSegments: number }).numSegments;
  const idShape = segmentIds.shape;
  const idCount = idShape.reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(idShape.length).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput([numSegments, ...x.shape.slice(idShape.length)], x.dtype);
  // Views of the heap are taken after makeOutput, since allocating can grow (and detach) the wasm memory.
  const xs = backend.typedArrayFromHeap(x);
  const ids = backend.typedArrayFromHeap(segmentIds);
  const o = backend.typedArrayFromHeap(out);
  o.fill(0);
  for (let i = 0; i < idCount; i++) {
    const s = ids[i];
    if (s < 0 || s >= numSegments) continue;
    const src = i * inner;
    const dst = s * inner;
    for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
  }
  return out;
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/**
 * Copies x[begin : begin + size] into `out` as contiguous runs: the trailing axes taken whole merge with the last
 * partially-taken axis into one run, copied with TypedArray.set (a memcpy in the engine).
 */
export function copySlice(
  x: ArrayLike<number> & { subarray(a: number, b: number): ArrayLike<number> },
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
  out: { set(src: ArrayLike<number>, offset: number): void },
): void {
  const strides = stridesOf(shape);
  let d = shape.length - 1;
  let inner = 1;
  while (d >= 0 && begin[d] === 0 && size[d] === shape[d]) inner *= shape[d--];
  if (d < 0) {
    out.set(x.subarray(0, inner), 0);
    return;
  }
  const run = size[d] * inner;
  const outer = size.slice(0, d);
  const count = outer.reduce((a, b) => a * b, 1);
  const idx = new Array<number>(d).fill(0);
  for (let n = 0, o = 0; n < count; n++, o += run) {
    let off = begin[d] * strides[d];
    for (let k = 0; k < d; k++) off += (begin[k] + idx[k]) * strides[k];
    out.set(x.subarray(off, off + run), o);
    for (let k = d - 1; k >= 0; k--) {
      if (++idx[k] < outer[k]) break;
      idx[k] = 0;
    }
  }
}

/**
 * Slice for wasm without the whole-tensor copy: tfjs-backend-wasm's Slice starts with `readSync(x)`, which copies the
 * entire input off the heap on every call, so splitting a tensor into B pieces costs O(B · size). Reading through a
 * heap view makes a slice cost only what it copies (SplitV and the attention split in ops.ts rely on it).
 */
function makeSlice(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]);
    const backend = args.backend as WasmBackendLike;
    const attrs = args.attrs as { begin: number | number[]; size?: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin, attrs.size);
    const out = backend.makeOutput(size, x.dtype);
    if (size.some((n) => n === 0)) return out;
    copySlice(backend.typedArrayFromHeap(x), x.shape, begin, size, backend.typedArrayFromHeap(out));
    return out;
  }) as tf.KernelFunc;
}

/** SplitV as slices through `slice` (the stock one calls the copying Slice once per piece). */
function makeSplitV(slice: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    const attrs = args.attrs as { numOrSizeSplits: number | number[]; axis: number | number[] };
    const axis = tf.util.parseAxisParam(attrs.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const size = x.shape.slice();
      size[axis] = s;
      const piece = slice({
        inputs: { x },
        backend: args.backend,
        attrs: { begin: begin.slice(), size },
      } as Parameters<tf.KernelFunc>[0]);
      begin[axis] += s;
      return piece as tf.TensorInfo;
    });
  }) as tf.KernelFunc;
}

/**
 * Identity that shares the input's buffer (reference count + 1) instead of copying it, as the cpu backend does. tfjs
 * clones every tensor a kernel saves for its gradient, so the stock copying Identity costs a full copy of each saved
 * activation per train step (≈ 400 copies for tt-micro). Safe because tfjs buffers are immutable (Variable.assign
 * swaps buffers, it never writes into one).
 */
function makeIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) => {
    const x = args.inputs['x'] as tf.TensorInfo;
    if (x.dtype === 'string') return original(args as Parameters<tf.KernelFunc>[0]);
    (args.backend as { incRef(dataId: tf.DataId): void }).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as tf.KernelFunc;
}

let registered = false;

/** Registers Tracetune's wasm kernel additions and replacements (idempotent). Call after the wasm backend registers. */
export function registerWasmKernels(): void {
  if (registered) return;
  registered = true;
  for (const kernel of [...ATTENTION_KERNELS, ...PACKED_MATMUL_KERNELS]) tf.registerKernel(kernel);
  if (!tf.getKernel('UnsortedSegmentSum', 'wasm')) {
    tf.registerKernel({
      kernelName: 'UnsortedSegmentSum',
      backendName: 'wasm',
      kernelFunc: unsortedSegmentSum as tf.KernelFunc,
    });
  }
  const stockIdentity = tf.getKernel('Identity', 'wasm');
  if (stockIdentity) {
    tf.unregisterKernel('Identity', 'wasm');
    tf.registerKernel({ ...stockIdentity, kernelFunc: makeIdentity(stockIdentity.kernelFunc) });
  }
  const stockSlice = tf.getKernel('Slice', 'wasm');
  if (stockSlice) {
    const slice = makeSlice(stockSlice.kernelFunc);
    tf.unregisterKernel('Slice', 'wasm');
    tf.registerKernel({ ...stockSlice, kernelFunc: slice });
    const stockSplit = tf.getKernel('SplitV', 'wasm');
    if (stockSplit) {
      tf.unregisterKernel('SplitV', 'wasm');
      tf.registerKernel({ ...stockSplit, kernelFunc: makeSplitV(slice) });
    }
  }
}
