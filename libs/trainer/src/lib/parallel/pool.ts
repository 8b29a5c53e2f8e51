import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';

import { TrainingError } from '../contract';
import type { NamedVariable } from '../optimizer';
import type { FromThread, ThreadFailure, ThreadSetup, ToThread, WeightSlot } from './protocol';

type Task = ToThread extends infer T ? (T extends ToThread ? Omit<T, 'id' | 'version'> : never) : never;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Thread {
  index: number;
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * The script a thread runs: the caller's (a bundled entry that calls `runTrainingThread`), or, when the trainer runs
 * from its TypeScript sources (tests, benchmarks), a shim next to this file that registers ts-node first.
 */
function threadScript(entry: string | null | undefined): string {
  if (entry) return entry;
  const shim = join(__dirname, 'thread-shim.js');
  if (__filename.endsWith('.ts') && existsSync(shim)) return shim;
  throw new TrainingError(
    'invalid_config',
    'More than one training thread needs the training-thread script (RunTrainingOptions.threadEntry)',
    'threads',
  );
}

function failureError(f: ThreadFailure, thread: number): Error {
  if (f.code) return new TrainingError(f.code as TrainingError['code'], f.message, f.param, f.step);
  return new TrainingError('thread_failed', `Training thread ${thread} failed: ${f.message}`);
}

/** The layout of the trainables in the shared weight buffer. */
function slotsOf(trainables: readonly NamedVariable[]): WeightSlot[] {
  let offset = 0;
  return trainables.map(({ name, variable }) => {
    const slot = { name, shape: [...variable.shape], offset, size: variable.size };
    offset += variable.size;
    return slot;
  });
}

/**
 * N training threads, each with its own backend and model replica (data parallelism). The main thread keeps the
 * optimiser: it publishes the trainable weights into one SharedArrayBuffer (each thread copies them into its backend
 * when their version changed), hands out work in contiguous blocks and gets results back in the order given, so the
 * reduction order never depends on which thread was faster. A thread that dies fails every task in flight and every
 * later one with `thread_failed`.
 */
export class TrainerPool {
  private readonly threads: Thread[] = [];
  private readonly weights: Float32Array;
  private readonly slots: WeightSlot[];
  private version = 0;
  private nextId = 0;
  private dead: Error | null = null;
  private closing = false;

  private constructor(
    readonly size: number,
    private readonly trainables: readonly NamedVariable[],
  ) {
    this.slots = slotsOf(trainables);
    const total = this.slots.reduce((s, x) => s + x.size, 0);
    this.weights = new Float32Array(new SharedArrayBuffer(4 * total));
  }

  /** Starts `size` threads on the current weights of `trainables`; resolves once every replica is loaded. */
  static async start(
    size: number,
    trainables: readonly NamedVariable[],
    setup: Omit<ThreadSetup, 'index' | 'weights' | 'slots' | 'backend'>,
    entry?: string | null,
  ): Promise<TrainerPool> {
    const pool = new TrainerPool(size, trainables);
    pool.publish();
    const script = threadScript(entry);
    const ready = Array.from({ length: size }, (_, index) =>
      pool.spawn(script, {
        ...setup,
        index,
        backend: tf.getBackend(),
        weights: pool.weights.buffer as SharedArrayBuffer,
        slots: pool.slots,
      }),
    );
    try {
      await Promise.all(ready);
    } catch (e) {
      await pool.dispose();
      throw e;
    }
    return pool;
  }

  private spawn(script: string, setup: ThreadSetup): Promise<void> {
    const worker = new Worker(script, { name: `trainer-${setup.index}`, workerData: setup });
    const thread: Thread = { index: setup.index, worker, pending: new Map() };
    this.threads.push(thread);
    return new Promise<void>((resolve, reject) => {
      thread.pending.set(-1, { resolve: () => resolve(), reject });
      worker.on('message', (m: FromThread) => {
        const id = m.type === 'ready' ? -1 : m.id;
        const p = thread.pending.get(id);
        thread.pending.delete(id);
        if (m.type === 'failure') {
          const error = failureError(m.failure, thread.index);
          p?.reject(
            id === -1
              ? new TrainingError(
                  'model_load_failed',
                  `Training thread ${thread.index} could not start: ${m.failure.message}`,
                )
              : error,
          );
        } else p?.resolve(m.type === 'result' ? m.value : undefined);
      });
      worker.on('error', (e) => this.fail(thread, `failed: ${e.message}`));
      worker.on('exit', (code) => this.fail(thread, `exited (code ${code})`));
    });
  }

  /** A dead thread fails the pool: what is in flight and everything after it. */
  private fail(thread: Thread, why: string): void {
    if (this.closing) return;
    this.dead ??= new TrainingError(
      'thread_failed',
      `Training thread ${thread.index} ${why}; the step is lost (the job resumes from its last checkpoint)`,
    );
    for (const t of this.threads) {
      for (const p of t.pending.values()) p.reject(this.dead);
      t.pending.clear();
    }
  }

  /** The threads' workers (operators' diagnostics and tests). */
  get workers(): readonly Worker[] {
    return this.threads.map((t) => t.worker);
  }

  /** Writes the current trainable weights into the shared buffer; threads pick them up with their next task. */
  publish(): void {
    this.trainables.forEach(({ variable }, i) =>
      this.weights.set(variable.dataSync() as Float32Array, this.slots[i].offset),
    );
    this.version++;
  }

  /** A flat gradient from a thread as tensors by stable name (the caller owns them). */
  gradientTensors(flat: Float32Array): Record<string, tf.Tensor> {
    return Object.fromEntries(
      this.slots.map((s) => [s.name, tf.tensor(flat.subarray(s.offset, s.offset + s.size), s.shape)]),
    );
  }

  private call<T>(thread: Thread, task: Task): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      thread.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      thread.worker.postMessage({ ...task, id, version: this.version } as ToThread);
    });
  }

  /**
   * Spreads `items` over the threads in contiguous blocks (thread k gets the k-th block) and returns their results
   * in the items' order. `task` builds one thread's message from its block.
   */
  async spread<I, R>(items: readonly I[], task: (block: I[], first: number) => Task): Promise<R[]> {
    const n = Math.min(this.size, items.length);
    const blocks = Array.from({ length: n }, (_, k) => {
      const from = Math.floor((k * items.length) / n);
      return { from, items: items.slice(from, Math.floor(((k + 1) * items.length) / n)) };
    });
    const results = await Promise.all(
      blocks.map((b, k) => this.call<R[]>(this.threads[k], task(b.items, b.from))),
    );
    return results.flat();
  }

  async dispose(): Promise<void> {
    this.closing = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }
}

/** Memory one thread's replica needs while training, estimated from the parameter count (weights, gradients,
 * activations and the backend's heap), for the automatic thread count. */
export function threadMemoryBytes(parameters: number): number {
  return 256 * 1024 * 1024 + parameters * 4 * 12;
}

/** Below this many parameters "automatic" trains on one thread: steps are short, threads' start-up would dominate. */
export const AUTO_THREADS_MIN_PARAMETERS = 1_000_000;

export interface ThreadLimits {
  /** Cores this run may use (a worker running several jobs divides its cores); default: all. */
  maxThreads?: number;
  /** Memory the run's replicas may take; default: half the machine's. */
  memoryBudgetBytes?: number;
  /** The tfjs backend (default: the current one); backends that use every core by themselves get one thread. */
  backend?: string;
}

/**
 * Threads for a run: `requested` when > 0; otherwise (automatic) one per core up to `maxThreads`, as many replicas
 * of a model of `parameters` parameters as the memory budget holds, at least one; one on native backends and for
 * models under AUTO_THREADS_MIN_PARAMETERS.
 */
export function trainingThreads(requested: number, parameters: number, limits: ThreadLimits = {}): number {
  if (requested > 0) return Math.floor(requested);
  const backend = limits.backend ?? tf.getBackend();
  if ((backend !== 'wasm' && backend !== 'cpu') || parameters < AUTO_THREADS_MIN_PARAMETERS) return 1;
  const budget = limits.memoryBudgetBytes ?? totalmem() / 2;
  const fits = Math.floor(budget / threadMemoryBytes(parameters));
  return Math.max(1, Math.min(limits.maxThreads ?? availableParallelism(), fits));
}
