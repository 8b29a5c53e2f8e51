import * as tf from '@tensorflow/tfjs-core';

import { heapModule, heapOffset, type WasmBackend } from './heap-module';
import { MATMUL_WASM } from './matmul.wasm';

/** tfjs kernel name of the packed inference matmul (wasm backend only). */
export const PACKED_MATMUL = 'TracetunePackedMatMul';

/** The module's export (matmul.wat); pointers are byte offsets into the backend's heap. */
interface Kernels {
  matmul(a: number, b: number, out: number, scratch: number, M: number, K: number, N: number): void;
}

const kernelsFor = heapModule<Kernels>(MATMUL_WASM);

/** A weight [K, N] packed for the kernel: panels [⌈N/8⌉, K, 8] of eight columns each, zeros past column N − 1. */
export interface PackedWeight {
  panels: tf.Tensor3D;
  columns: number;
}

/**
 * x [M, K] · W [K, N] with W packed (matmul.wat): the weights of a panel are loaded once for four rows, the rows'
 * values as broadcast loads. tfjs-backend-wasm's matmul (XNNPACK) reaches ≈ 10–17 GMAC/s on the [M ≤ 24, 192 … 512] ×
 * [·, 192 … 1024] products of decoding tt-micro and this kernel ≈ 24, both on one core; with one row it also saves
 * most of the per-call cost (≈ 3 against ≈ 7 µs for 192 × 192).
 */
function packedMatMulKernel(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { x, panels } = args.inputs as Record<'x' | 'panels', tf.TensorInfo>;
  const { columns: N } = args.attrs as { columns: number };
  const [M, K] = x.shape;
  const out = backend.makeOutput([M, N], 'float32');
  if (M === 0 || N === 0) return out;
  if (K === 0) {
    backend.typedArrayFromHeap(out).fill(0);
    return out;
  }
  // The kernel stores through scratch only in a last panel narrower than 8 columns: no allocation on the usual path.
  const scratch = N % 8 === 0 ? null : backend.makeOutput([8], 'float32');
  kernelsFor(backend).matmul(
    heapOffset(backend, x),
    heapOffset(backend, panels),
    heapOffset(backend, out),
    scratch ? heapOffset(backend, scratch) : 0,
    M,
    K,
    N,
  );
  if (scratch) backend.disposeData(scratch.dataId);
  return out;
}

/** The kernel for the wasm backend (registered by registerWasmKernels). */
export const PACKED_MATMUL_KERNELS: tf.KernelConfig[] = [
  { kernelName: PACKED_MATMUL, backendName: 'wasm', kernelFunc: packedMatMulKernel as tf.KernelFunc },
];

/** Whether `packedMatMul` can run here: the wasm backend is active with the kernel registered. */
export function packedMatMulAvailable(): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(PACKED_MATMUL, 'wasm') !== undefined;
}

/**
 * Packs a weight [K, N] into the kernel's panels (a new tensor, the caller's to keep and dispose). With `transposed`,
 * `w` is Wᵀ [N, K] (a tied head's embedding [V, C]) and is read as such, without a transposed copy.
 */
export function packWeight(w: tf.Tensor2D, transposed = false): PackedWeight {
  const [K, N] = transposed ? [w.shape[1], w.shape[0]] : w.shape;
  const source = w.dataSync();
  const panels = Math.ceil(N / 8);
  const data = new Float32Array(panels * K * 8);
  for (let p = 0; p < panels; p++) {
    const width = Math.min(8, N - 8 * p);
    if (transposed) {
      for (let j = 0; j < width; j++)
        for (let k = 0; k < K; k++) data[(p * K + k) * 8 + j] = source[(8 * p + j) * K + k];
    } else {
      for (let k = 0; k < K; k++)
        data.set(source.subarray(k * N + 8 * p, k * N + 8 * p + width), (p * K + k) * 8);
    }
  }
  return { panels: tf.tensor3d(data, [panels, K, 8]), columns: N };
}

/** x [M, K] · W for a packed W [K, N] → [M, N]. No gradient: inference only. */
export function packedMatMul(x: tf.Tensor2D, w: PackedWeight): tf.Tensor2D {
  const K = x.shape[1];
  const [panels, pk, width] = w.panels.shape;
  if (pk !== K || width !== 8 || panels !== Math.ceil(w.columns / 8)) {
    throw new Error(
      `packedMatMul: x [${x.shape}] does not fit panels [${w.panels.shape}] of ${w.columns} columns`,
    );
  }
  if (x.dtype !== 'float32') throw new Error('packedMatMul: x must be float32');
  return tf.engine().runKernel(PACKED_MATMUL, { x, panels: w.panels }, { columns: w.columns }) as tf.Tensor2D;
}
