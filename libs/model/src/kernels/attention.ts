import * as tf from '@tensorflow/tfjs-core';

import { ATTENTION_WASM } from './attention.wasm';
import { heapModule, heapOffset, type WasmBackend } from './heap-module';

/** tfjs kernel names of the fused inference attention (wasm backend only). */
export const ATTENTION = 'TracetuneAttention';
export const SLOT_ATTENTION = 'TracetuneSlotAttention';

/** The module's exports (attention.wat); every argument is a byte offset into the backend's heap or a size. */
interface Kernels {
  attend(
    q: number,
    k: number,
    v: number,
    valid: number,
    out: number,
    scratch: number,
    N: number,
    H: number,
    Hkv: number,
    T: number,
    S: number,
    D: number,
  ): void;
  attend_slots(
    q: number,
    k: number,
    v: number,
    kBuf: number,
    vBuf: number,
    slots: number,
    positions: number,
    out: number,
    scratch: number,
    M: number,
    H: number,
    Hkv: number,
    C: number,
    D: number,
  ): void;
}

const kernelsFor = heapModule<Kernels>(ATTENTION_WASM);

/**
 * Attention of T new tokens per sequence over its keys and values (cached ones and their own, causally), as one kernel
 * (attention.wat): replaces the two batched matmuls, the mask add, the softmax and the transposes of the generic path.
 * tfjs-backend-wasm runs batched matmuls through a scalar loop (≈ 1.6 GFLOP/s on the [N·Hkv, g, D] × [N·Hkv, S, D]
 * products of decoding), which made attention ≈ 45 % of a 16-row decode step of tt-micro; the kernel's SIMD loops
 * take it to ≈ 15 %.
 */
function attentionKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { q, k, v, valid } = args.inputs as Record<'q' | 'k' | 'v' | 'valid', tf.TensorInfo>;
  const [N, H, T, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const out = backend.makeOutput([N, H, T, D], 'float32');
  if (N === 0 || T === 0) return out;
  const scratch = backend.makeOutput([Math.ceil(S / 4) * 4], 'float32');
  const at = (t: tf.TensorInfo): number => heapOffset(backend, t);
  kernelsFor(backend).attend(at(q), at(k), at(v), at(valid), at(out), at(scratch), N, H, Hkv, T, S, D);
  backend.disposeData(scratch.dataId);
  return out;
}

/**
 * Attention over a slot cache (see SlotCache): writes each entry's new key and value into its slot's buffer in place,
 * then attends over the slot's columns up to the entry's own. The buffers are inputs that this kernel mutates: they
 * belong to one SlotCache and nothing else reads them.
 */
function slotAttentionKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const backend = args.backend as WasmBackend;
  const { q, k, v, kBuf, vBuf, slots, positions } = args.inputs as Record<
    'q' | 'k' | 'v' | 'kBuf' | 'vBuf' | 'slots' | 'positions',
    tf.TensorInfo
  >;
  const [M, H, D] = q.shape;
  const [rows, Hkv, C] = kBuf.shape;
  // An entry outside the buffers would write outside them: checked on the heap (no copy), per call.
  const slot = backend.typedArrayFromHeap(slots);
  const column = backend.typedArrayFromHeap(positions);
  for (let m = 0; m < M; m++) {
    if (slot[m] < 0 || slot[m] >= rows || column[m] < 0 || column[m] >= C)
      throw new Error(
        `slotAttention: entry ${m} at slot ${slot[m]}, column ${column[m]} is outside [${rows}, ${C}]`,
      );
  }
  const out = backend.makeOutput([M, H, D], 'float32');
  if (M === 0) return out;
  const scratch = backend.makeOutput([Math.ceil(C / 4) * 4], 'float32');
  const at = (t: tf.TensorInfo): number => heapOffset(backend, t);
  kernelsFor(backend).attend_slots(
    at(q),
    at(k),
    at(v),
    at(kBuf),
    at(vBuf),
    at(slots),
    at(positions),
    at(out),
    at(scratch),
    M,
    H,
    Hkv,
    C,
    D,
  );
  backend.disposeData(scratch.dataId);
  return out;
}

/** The kernels for the wasm backend (registered by registerWasmKernels). */
export const ATTENTION_KERNELS: tf.KernelConfig[] = [
  { kernelName: ATTENTION, backendName: 'wasm', kernelFunc: attentionKernel as tf.KernelFunc },
  { kernelName: SLOT_ATTENTION, backendName: 'wasm', kernelFunc: slotAttentionKernel as tf.KernelFunc },
];

/** Whether `fusedAttention` can run here: the wasm backend is active and head vectors are whole f32x4 groups. */
export function fusedAttentionAvailable(headDim: number): boolean {
  return tf.getBackend() === 'wasm' && headDim % 4 === 0 && tf.getKernel(ATTENTION, 'wasm') !== undefined;
}

/**
 * out[n, h, t] = softmax over the valid columns s ≤ S − T + t of (q[n, h, t] · k[n, ⌊h/g⌋, s]) applied to
 * v[n, ⌊h/g⌋]: q [N, H, T, D] (scaled), k and v [N, Hkv, S, D] whose last T columns hold the T new tokens, valid
 * [N, S] int32 (1 = a real token) → [N, H, T, D]. Causal over the new tokens. No gradient: inference only.
 */
export function fusedAttention(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  valid: tf.Tensor2D,
): tf.Tensor4D {
  const [N, H, T, D] = q.shape;
  const [kn, Hkv, S, kd] = k.shape;
  if (
    kn !== N ||
    kd !== D ||
    H % Hkv !== 0 ||
    T > S ||
    !tf.util.arraysEqual(v.shape, k.shape) ||
    !tf.util.arraysEqual(valid.shape, [N, S])
  ) {
    throw new Error(
      `fusedAttention: incompatible shapes q [${q.shape}], k [${k.shape}], v [${v.shape}], valid [${valid.shape}]`,
    );
  }
  if (q.dtype !== 'float32' || k.dtype !== 'float32' || v.dtype !== 'float32' || valid.dtype !== 'int32') {
    throw new Error('fusedAttention: q, k and v must be float32 and valid int32');
  }
  return tf.engine().runKernel(ATTENTION, { q, k, v, valid }) as tf.Tensor4D;
}

/**
 * Slot-cache attention: for each entry m, writes k[m] and v[m] into kBuf and vBuf at [slots[m], :, positions[m]], then
 * out[m, h] = softmax over s ≤ positions[m] of (q[m, h] · kBuf[slots[m], ⌊h/g⌋, s]) applied to vBuf[slots[m], ⌊h/g⌋]:
 * q [M, H, D] (scaled), k and v [M, Hkv, D], kBuf and vBuf [rows, Hkv, C, D] (mutated), slots and positions [M] int32
 * → [M, H, D]. Entries of one slot must have increasing positions (a prompt's tokens, in order). Inference only.
 */
export function slotAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  kBuf: tf.Tensor4D,
  vBuf: tf.Tensor4D,
  slots: tf.Tensor1D,
  positions: tf.Tensor1D,
): tf.Tensor3D {
  const [M, H, D] = q.shape;
  const [, Hkv, , bd] = kBuf.shape;
  if (
    bd !== D ||
    H % Hkv !== 0 ||
    !tf.util.arraysEqual(k.shape, [M, Hkv, D]) ||
    !tf.util.arraysEqual(v.shape, k.shape) ||
    !tf.util.arraysEqual(vBuf.shape, kBuf.shape) ||
    slots.size !== M ||
    positions.size !== M
  ) {
    throw new Error(
      `slotAttention: incompatible shapes q [${q.shape}], k [${k.shape}], v [${v.shape}], buffers [${kBuf.shape}], ${slots.size} slots, ${positions.size} positions`,
    );
  }
  if (slots.dtype !== 'int32' || positions.dtype !== 'int32')
    throw new Error('slotAttention: slots and positions must be int32');
  return tf.engine().runKernel(SLOT_ATTENTION, { q, k, v, kBuf, vBuf, slots, positions }) as tf.Tensor3D;
}
