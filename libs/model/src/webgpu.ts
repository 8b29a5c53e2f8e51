import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { registerWebgpuKernels } from './webgpu-kernels';

/**
 * The `webgpu` backend in Node: Dawn's Node bindings (npm `webgpu`, its prebuilt `dawn.node`) expose WebGPU over the
 * machine's Vulkan driver, and `@tensorflow/tfjs-backend-webgpu` runs tfjs on it. Two things the browser gives and
 * Node does not are supplied here: `navigator.gpu`, and a synchronous read-back (`dataSync`), which the model, the
 * sampler and the trainer use (see `readSyncFromGpu`).
 */

/** What the chosen WebGPU adapter is: named in the backend report, on a worker's /health and in training logs. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A software rasteriser (lavapipe, SwiftShader): used only when webgpu is asked for by name. */
  software: boolean;
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
  };
}

/** The few WebGPU types used here (the global @webgpu/types in the tree is older than Dawn's `adapter.info`). */
interface GpuLimits {
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupsPerDimension: number;
  maxComputeWorkgroupSizeX: number;
  maxStorageBuffersPerShaderStage: number;
}
interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}
interface GpuDevice {
  limits: { maxStorageBuffersPerShaderStage: number };
  onuncapturederror: ((e: { error: { message: string } }) => void) | null;
}
interface GpuAdapter {
  info: GpuAdapterInfo;
  isFallbackAdapter?: boolean;
  limits: GpuLimits;
  requestDevice(d: { requiredLimits: Partial<GpuLimits> }): Promise<GpuDevice>;
}
interface Gpu {
  requestAdapter(o: { powerPreference: string }): Promise<GpuAdapter | null>;
}
interface GpuBuffer {
  size: number;
  mapState: string;
  mapAsync(mode: number): Promise<void>;
  getMappedRange(): ArrayBuffer;
  unmap(): void;
}
interface GpuCommandEncoder {
  copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void;
}
/** GPUBufferUsage and GPUMapMode flags (WebGPU's constants). */
const COPY_DST = 0x0008;
const MAP_READ = 0x0001;
const MAP_MODE_READ = 0x0001;

type Require = NodeJS.Require;
const runtimeRequire = (): Require => eval('require') as Require; // optional packages: bundlers must not follow it

/** The Dawn callback that processes its pending events (see `captureDawnTick`), kept on the process's realm. */
interface TickHolder {
  tick: (() => void) | null;
}
let dawnTick: TickHolder = { tick: null };

/**
 * Dawn's Node bindings settle a buffer mapping only when they process events, which they schedule through the global
 * `setImmediate` with a native callback. Capturing that callback lets a synchronous read drive the mapping to the end
 * without returning to the event loop (a native callback is recognised by its source text). The global patched is the
 * one of the realm that loaded dawn.node (the process's, also under jest, whose test files run in their own realm).
 */
function captureDawnTick(dawn: DawnModule): void {
  const realm = (dawn.create.constructor as FunctionConstructor)('return globalThis')() as {
    setImmediate: typeof setImmediate;
    __ttDawnTick?: TickHolder;
  };
  if (realm.__ttDawnTick) {
    dawnTick = realm.__ttDawnTick;
    return;
  }
  const holder: TickHolder = { tick: null };
  const original = realm.setImmediate;
  const patched = (fn: (...a: unknown[]) => void, ...args: unknown[]) => {
    if (typeof fn === 'function' && Function.prototype.toString.call(fn).includes('[native code]'))
      holder.tick = fn as () => void;
    return original(fn, ...args);
  };
  realm.setImmediate = Object.assign(patched, original) as typeof setImmediate;
  realm.__ttDawnTick = holder;
  dawnTick = holder;
}

interface DawnModule {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** Loads dawn.node from the `webgpu` package (its ESM entry cannot be required on Node 20 everywhere, the addon can). */
function loadDawn(): DawnModule {
  const req = runtimeRequire();
  const dir = dirname(req.resolve('webgpu/package.json'));
  return req(join(dir, 'dist', `${process.platform}-${process.arch}`, 'dawn.node')) as DawnModule;
}

let gpu: Gpu | null = null;

/** `navigator.gpu` backed by Dawn, created once per process. */
function dawnGpu(): Gpu {
  if (gpu) return gpu;
  const dawn = loadDawn();
  captureDawnTick(dawn);
  const g = globalThis as Record<string, unknown>;
  for (const [name, value] of Object.entries(dawn.globals)) if (!(name in g)) g[name] = value;
  gpu = dawn.create([]);
  const nav = (g['navigator'] ?? {}) as Record<string, unknown>;
  if (!g['navigator']) g['navigator'] = nav;
  if (!nav['gpu']) Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true });
  return gpu;
}

function describeAdapter(adapter: GpuAdapter): AdapterReport {
  const info = adapter.info;
  const legacy = adapter.isFallbackAdapter;
  const text = `${info.architecture} ${info.description}`;
  const l = adapter.limits;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software:
      info.isFallbackAdapter === true ||
      legacy === true ||
      /\b(software|llvmpipe|lavapipe|swiftshader)/i.test(text),
    limits: {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    },
  };
}

export function adapterSummary(a: AdapterReport): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown';
  return `${name} (${a.description || 'no description'}${a.software ? ', software' : ''}; max buffer ${Math.round(a.limits.maxBufferSize / 2 ** 20)} MiB, max binding ${Math.round(a.limits.maxStorageBufferBindingSize / 2 ** 20)} MiB)`;
}

/** The subset of tfjs-backend-webgpu's WebGPUBackend a synchronous read needs. */
interface WebGpuBackendLike {
  commandEncoder: GpuCommandEncoder | null;
  tensorMap: { get(id: tf.DataId): { values?: unknown; dtype: tf.DataType; resource?: unknown } };
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer; releaseBuffer(b: GpuBuffer): void };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  convertAndCacheOnCPU(id: tf.DataId, values: tf.backend_util.BackendValues): tf.backend_util.BackendValues;
  readSync(id: tf.DataId): tf.backend_util.BackendValues;
}

const READ_TIMEOUT_MS = 120_000;

/** Spins Dawn's event processing until `buffer` is mapped (a GPU read-back is the GPU's queue draining). */
function waitMapped(buffer: GpuBuffer): void {
  const mapping = buffer.mapAsync(MAP_MODE_READ);
  let failure: unknown = null;
  mapping.catch((e: unknown) => (failure = e));
  const start = Date.now();
  while (buffer.mapState !== 'mapped') {
    if (failure || buffer.mapState === 'unmapped')
      throw new Error(`webgpu read-back failed: ${String(failure)}`);
    if (Date.now() - start > READ_TIMEOUT_MS) throw new Error('webgpu read-back timed out');
    dawnTick.tick?.();
  }
}

/**
 * A synchronous read of a GPU tensor: copy to a staging buffer, submit, drive the mapping (`waitMapped`), copy out.
 * Replaces tfjs-backend-webgpu's browser-only path (an OffscreenCanvas round trip).
 */
function readSyncFromGpu(backend: WebGpuBackendLike, original: WebGpuBackendLike['readSync']) {
  return (id: tf.DataId): tf.backend_util.BackendValues => {
    throwDeviceError();
    const data = backend.tensorMap.get(id);
    if (data.values != null || data.dtype === 'string' || data.dtype === 'complex64') return original(id);
    const source = data.resource as GpuBuffer;
    const staging = backend.bufferManager.acquireBuffer(source.size, COPY_DST | MAP_READ);
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.commandEncoder?.copyBufferToBuffer(source, 0, staging, 0, source.size);
    backend.submitQueue();
    waitMapped(staging);
    throwDeviceError();
    const bytes = staging.getMappedRange().slice(0);
    staging.unmap();
    backend.bufferManager.releaseBuffer(staging);
    const values = tf.util.convertBackendValuesAndArrayBuffer(bytes, data.dtype);
    return backend.convertAndCacheOnCPU(id, values);
  };
}

/**
 * Dawn reports an invalid pipeline or command (a kernel over a device limit, say) on the console and carries on with
 * garbage results; the first such error is kept and thrown by the next read-back, so a run fails instead.
 */
let deviceError: string | null = null;
function failOnValidationErrors(device: GpuDevice): void {
  device.onuncapturederror = (e) => {
    deviceError ??= e.error.message;
  };
}
function throwDeviceError(): void {
  if (deviceError === null) return;
  const message = deviceError;
  deviceError = null;
  throw new Error(`webgpu device error: ${message.split('\n')[0]}`);
}

interface WebGpuPackage {
  WebGPUBackend: new (device: GpuDevice, info?: GpuAdapterInfo) => WebGpuBackendLike;
}

let active: { adapter: AdapterReport } | null = null;

/** The adapter of the webgpu backend when it is the active one, else null. */
export function activeAdapter(): AdapterReport | null {
  return active && tf.getBackend() === 'webgpu' ? active.adapter : null;
}

async function createBackend(pkg: WebGpuPackage, adapter: GpuAdapter): Promise<WebGpuBackendLike> {
  const l = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  });
  failOnValidationErrors(device);
  registerWebgpuKernels(device.limits.maxStorageBuffersPerShaderStage);
  const backend = new pkg.WebGPUBackend(device, adapter.info);
  backend.readSync = readSyncFromGpu(backend, backend.readSync.bind(backend));
  return backend;
}

/**
 * Starts tfjs on WebGPU. `allowSoftware` is false under `auto`: a software adapter is slower than the wasm backend,
 * so it is used only when webgpu is asked for by name. Throws (a fallback reason) when no usable adapter exists.
 */
export async function startWebgpu(allowSoftware: boolean): Promise<AdapterReport> {
  if (active && tf.findBackend('webgpu')) {
    if (active.adapter.software && !allowSoftware) throw softwareOnly(active.adapter);
    if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to initialise');
    return active.adapter;
  }
  const pkg = runtimeRequire()('@tensorflow/tfjs-backend-webgpu') as WebGpuPackage; // before navigator.gpu exists
  const adapter = await dawnGpu().requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('no WebGPU adapter: no Vulkan driver (ICD) was found');
  const report = describeAdapter(adapter);
  if (report.software && !allowSoftware) throw softwareOnly(report);
  const backend = await createBackend(pkg, adapter);
  if (tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => backend as unknown as tf.KernelBackend, 0);
  active = { adapter: report };
  if (!(await tf.setBackend('webgpu'))) throw new Error('the webgpu backend failed to initialise');
  return report;
}

function softwareOnly(a: AdapterReport): Error {
  return new Error(
    `only a software adapter (${a.description || a.architecture}); auto uses webgpu on a hardware adapter only (ask for it by name to use this one)`,
  );
}
