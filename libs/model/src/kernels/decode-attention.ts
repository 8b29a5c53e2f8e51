import * as tf from '@tensorflow/tfjs-core';

import { DECODE_ATTENTION_WASM } from './decode-attention.wasm';

/** tfjs kernel name of the fused decode attention (wasm backend only). */
export const DECODE_ATTENTION = 'TracetuneDecodeAttention';

/** WebAssembly's JS API as used here (the libraries compile without DOM types, which is where tsc declares it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses (`memory` is its WebAssembly.Memory). */
interface WasmBackend {
  wasm: { asm: { memory: object } };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

type Attend = (q: number, k: number, v: number, valid: number, out: number, scratch: number, N: number, H: number, Hkv: number, S: number, D: number) => void;

/** One instance per wasm memory (per backend): the module works on the backend's heap in place. */
const instances = new WeakMap<object, Attend>();

function attendFor(memory: object): Attend {
  let attend = instances.get(memory);
  if (!attend) {
    const module = new WebAssembly.Module(Buffer.from(DECODE_ATTENTION_WASM, 'base64'));
    attend = new WebAssembly.Instance(module, { env: { memory } }).exports['attend'] as Attend;
    instances.set(memory, attend);
  }
  return attend;
}

/**
 * Attention of one new token per sequence over its cached keys and values, as one kernel (decode-attention.wat):
 * replaces the two batched matmuls, the mask add and the softmax of the generic path. tfjs-backend-wasm runs batched
 * matmuls through a scalar loop (≈ 1.6 GFLOP/s on the [N·Hkv, g, D] × [N·Hkv, S, D] products of decoding), which made
 * attention ≈ 45 % of a 16-row decode step of tt-micro; this SIMD loop reads each key and value once per query head.
 */
function decodeAttentionKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { q, k, v, valid } = args.inputs as Record<'q' | 'k' | 'v' | 'valid', tf.TensorInfo>;
  const [N, H, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const out = backend.makeOutput([N, H, D], 'float32');
  if (N === 0) return out;
  const scratch = backend.makeOutput([Math.ceil(S / 4) * 4], 'float32');
  const at = (t: tf.TensorInfo): number => backend.dataIdMap.get(t.dataId).memoryOffset;
  attendFor(backend.wasm.asm.memory)(at(q), at(k), at(v), at(valid), at(out), at(scratch), N, H, Hkv, S, D);
  backend.disposeData(scratch.dataId);
  return out;
}

let registered = false;

/** Registers the kernel with the wasm backend (idempotent; called by registerWasmKernels). */
export function registerDecodeAttention(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({ kernelName: DECODE_ATTENTION, backendName: 'wasm', kernelFunc: decodeAttentionKernel as tf.KernelFunc });
}

/** Whether `decodeAttention` can run here: the wasm backend is active and head vectors are whole f32x4 groups. */
export function decodeAttentionAvailable(headDim: number): boolean {
  return tf.getBackend() === 'wasm' && headDim % 4 === 0 && tf.getKernel(DECODE_ATTENTION, 'wasm') !== undefined;
}

/**
 * out[n, h] = softmax over valid s of (q[n, h] · k[n, ⌊h/g⌋, s]) applied to v[n, ⌊h/g⌋]:  q [N, H, D] (scaled), k and
 * v [N, Hkv, S, D], valid [N, S] int32 (1 = attend) → [N, H, D]. No gradient: inference only.
 */
export function decodeAttention(q: tf.Tensor3D, k: tf.Tensor4D, v: tf.Tensor4D, valid: tf.Tensor2D): tf.Tensor3D {
  const [N, H, D] = q.shape;
  const [kn, Hkv, S, kd] = k.shape;
  if (kn !== N || kd !== D || H % Hkv !== 0 || !tf.util.arraysEqual(v.shape, k.shape) || !tf.util.arraysEqual(valid.shape, [N, S])) {
    throw new Error(`decodeAttention: incompatible shapes q [${q.shape}], k [${k.shape}], v [${v.shape}], valid [${valid.shape}]`);
  }
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32' || valid.dtype !== 'int32') {
    throw new Error('decodeAttention: q, k and v must be float32 and valid int32');
  }
  return tf.engine().runKernel(DECODE_ATTENTION, { q, k, v, valid }) as tf.Tensor3D;
}
