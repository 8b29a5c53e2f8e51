import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

import { BACKEND_CHOICES, type BackendChoice } from '@tracetune/contracts';

import { registerWasmKernels } from './wasm-kernels';
import { activeAdapter, adapterSummary, startWebgpu, type AdapterReport } from './webgpu';

export type { AdapterReport, BackendChoice };

export interface BackendReport {
  /** The tfjs backend now active: 'tensorflow' (tfjs-node or tfjs-node-gpu), 'webgpu', 'wasm' or 'cpu'. */
  backend: string;
  /** The WebGPU adapter (vendor, architecture, device, limits) when the backend is webgpu, else null. */
  adapter: AdapterReport | null;
  /** Which candidate loaded: tells tfjs-node-gpu (CUDA) from tfjs-node, which both register as 'tensorflow'. */
  loaded: Exclude<BackendChoice, 'auto'>;
  /** Human-readable reason it was chosen. */
  reason: string;
  /** Candidates tried before it and why each was skipped. */
  fallbacks: { choice: BackendChoice; error: string }[];
}

export type BackendLog = (message: string) => void;

/**
 * Optional packages are loaded with a runtime `require` of a computed name: the native tfjs-node packages are banned
 * as imports in math libraries (they are not dependencies of the library, only optional at deployment), and a
 * missing native addon must turn into a fallback, not a crash.
 */
function optionalRequire(name: string): unknown {
  const req = eval('require') as NodeJS.Require; // not a static import: bundlers and lint must not follow it
  return req(name);
}

function resolveOptional(name: string): string {
  const req = eval('require') as NodeJS.Require;
  return req.resolve(name);
}

async function tryNative(pkg: string): Promise<void> {
  optionalRequire(pkg); // registers the 'tensorflow' backend on import
  if (!(await tf.setBackend('tensorflow')))
    throw new Error(`${pkg} loaded but the 'tensorflow' backend did not start`);
}

async function tryWasm(): Promise<void> {
  const wasm = optionalRequire('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
  // In Node the .wasm files are read from the package's dist folder (the default path resolution assumes a browser).
  const dist = dirname(resolveOptional('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(`${dist}/`);
  if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend failed to initialise');
  registerWasmKernels();
}

async function tryCpu(): Promise<void> {
  optionalRequire('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu backend failed to initialise');
  // The cpu backend prints a one-time "install tfjs-node" banner on its first tensor; our report already says why
  // this backend was chosen, so take the first write here with the banner muted.
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    tf.scalar(0).dispose();
  } finally {
    console.warn = warn;
  }
}

/**
 * The most memory the active backend can hold, or null when only the machine bounds it: tfjs-backend-wasm's heap is
 * one 32-bit WebAssembly memory (4 GiB), per thread; an allocation beyond it fails with "memory access out of bounds"
 * and leaves the heap corrupt (later kernels return garbage; seen here).
 */
export function backendMemoryLimitBytes(): number | null {
  return tf.getBackend() === 'wasm' ? 4 * 1024 ** 3 : null;
}

/**
 * The largest single tensor the active backend can hold, or null when unbounded: on webgpu every tensor is one
 * buffer bound as a storage buffer, so the adapter's maxBufferSize and maxStorageBufferBindingSize bound it (128 MiB
 * of binding on lavapipe, 2 GiB or more on a discrete GPU). WebGPU exposes no total memory size.
 */
export function backendTensorLimitBytes(): number | null {
  const adapter = activeAdapter();
  if (!adapter) return null;
  return Math.min(adapter.limits.maxBufferSize, adapter.limits.maxStorageBufferBindingSize);
}

/** The concrete backends, best first (the one list is BACKEND_CHOICES in libs/contracts). */
const ORDER = BACKEND_CHOICES.filter((c): c is Exclude<BackendChoice, 'auto'> => c !== 'auto');
const ATTEMPT: Record<Exclude<BackendChoice, 'auto'>, (choice: BackendChoice) => Promise<void>> = {
  'tensorflow-gpu': () => tryNative('@tensorflow/tfjs-node-gpu'),
  // A software adapter (lavapipe) only when webgpu is asked for by name: under auto it would be slower than wasm.
  webgpu: async (choice) => void (await startWebgpu(choice === 'webgpu')),
  tensorflow: () => tryNative('@tensorflow/tfjs-node'),
  wasm: tryWasm,
  cpu: tryCpu,
};

/** One line naming the backend, its adapter (on webgpu) and every fallback with its reason: for logs. */
export function describeBackend(report: BackendReport): string {
  const adapter = report.adapter ? `; adapter ${adapterSummary(report.adapter)}` : '';
  const skipped = report.fallbacks.length
    ? `; skipped ${report.fallbacks.map((f) => `${f.choice}: ${f.error}`).join('; ')}`
    : '';
  return `tfjs backend: ${report.backend} (${report.reason}${adapter}${skipped})`;
}

/**
 * Chooses the tfjs backend: the requested one, or with 'auto' the best that loads (CUDA → WebGPU on a hardware adapter → native CPU → wasm SIMD →
 * plain JS). A specific choice that fails falls back down the same list, and the report says so.
 */
export async function setupBackend(
  choice: BackendChoice = 'auto',
  log: BackendLog = () => undefined,
): Promise<BackendReport> {
  const start = choice === 'auto' ? 0 : ORDER.indexOf(choice);
  if (start < 0) throw new Error(`Unknown backend "${choice}"; known: auto, ${ORDER.join(', ')}`);
  const fallbacks: BackendReport['fallbacks'] = [];
  for (const candidate of ORDER.slice(start)) {
    try {
      await ATTEMPT[candidate](choice);
      await tf.ready();
      const reason =
        choice === candidate
          ? `requested ${candidate}`
          : choice === 'auto'
            ? `auto: ${candidate} is the best backend that loaded`
            : `requested ${choice} failed; fell back to ${candidate}`;
      const report = {
        backend: tf.getBackend(),
        adapter: activeAdapter(),
        loaded: candidate,
        reason,
        fallbacks,
      };
      log(describeBackend(report));
      return report;
    } catch (e) {
      fallbacks.push({ choice: candidate, error: ((e as Error).message ?? String(e)).split('\n')[0] });
    }
  }
  throw new Error(
    `No tfjs backend could start: ${fallbacks.map((f) => `${f.choice}: ${f.error}`).join('; ')}`,
  );
}
