import * as tf from '@tensorflow/tfjs-core';

type KernelArgs = Parameters<tf.KernelFunc>[0];
const WRAPPED = Symbol.for('tracetune.webgpuAddN');

/**
 * AddN in chunks on webgpu. tfjs-backend-webgpu binds every input of an AddN as its own storage buffer, so a sum of
 * more inputs than the device's maxStorageBuffersPerShaderStage (8 by default, 16 on lavapipe) is an invalid pipeline:
 * the gradient of a weight used by every layer (RoPE's rotation matrix, a tied embedding) sums one term per use. Here
 * the terms are added `maxInputs` at a time, then the partial sums.
 */
function chunkedAddN(original: tf.KernelFunc, maxInputs: number): tf.KernelFunc {
  const chunked = (args: KernelArgs) => {
    const backend = args.backend as { disposeData(id: tf.DataId): void };
    let level = args.inputs as unknown as tf.TensorInfo[];
    const partials: tf.TensorInfo[] = [];
    const sum = (terms: tf.TensorInfo[]) =>
      original({ ...args, inputs: terms as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
    while (level.length > maxInputs) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < level.length; i += maxInputs) {
        const chunk = level.slice(i, i + maxInputs);
        const partial = chunk.length === 1 ? chunk[0] : sum(chunk);
        if (chunk.length > 1) partials.push(partial);
        next.push(partial);
      }
      level = next;
    }
    const result = sum(level);
    for (const p of partials) backend.disposeData(p.dataId);
    return result;
  };
  return Object.assign(chunked, { [WRAPPED]: true });
}

/** Replaces webgpu kernels that break a device limit (see chunkedAddN); idempotent. */
export function registerWebgpuKernels(maxStorageBuffers: number): void {
  const addN = tf.getKernel('AddN', 'webgpu');
  if (!addN || (addN.kernelFunc as unknown as Record<symbol, boolean>)[WRAPPED]) return;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: chunkedAddN(addN.kernelFunc, Math.max(2, maxStorageBuffers - 1)),
  });
}
