import * as tf from '@tensorflow/tfjs-core';

/** WebAssembly's JS API as used here (the libraries compile without DOM types, which is where tsc declares it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (
    module: object,
    imports: Record<string, Record<string, unknown>>,
  ) => { exports: Record<string, unknown> };
}
const { WebAssembly } = globalThis as unknown as { WebAssembly: WebAssemblyApi };

/** The parts of tfjs-backend-wasm's BackendWasm that the hand-written kernels use (`memory` is its WebAssembly.Memory). */
export interface WasmBackend {
  wasm: { asm: { memory: object } };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/** Byte offset of a tensor's data in the backend's heap. */
export function heapOffset(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.dataIdMap.get(t.dataId).memoryOffset;
}

/**
 * A hand-written kernel module (base64 wasm that imports `env.memory`), instantiated once per backend memory so that
 * it works on the backend's tensors in place.
 */
export function heapModule<T>(base64: string): (backend: WasmBackend) => T {
  const instances = new WeakMap<object, T>();
  let compiled: object | null = null;
  return (backend) => {
    const memory = backend.wasm.asm.memory;
    let exports = instances.get(memory);
    if (!exports) {
      compiled ??= new WebAssembly.Module(Buffer.from(base64, 'base64'));
      exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as T;
      instances.set(memory, exports);
    }
    return exports;
  };
}
