import { loadPyodide, type PyodideAPI } from 'pyodide';

import type { SandboxOutcome } from './javascript-sandbox';
import { PYTHON_PRELUDE } from './python-prelude';

export interface PythonSandboxOptions {
  /** How much the interpreter's memory may grow past its size after loading. */
  memoryLimitBytes: number;
  /** Set to 2 by the pool when a call's time is up: Python raises KeyboardInterrupt at its next check. */
  interrupt: SharedArrayBuffer | null;
}

/** The parts of Pyodide's emscripten module this file touches (not in Pyodide's public types). */
interface PyodideInternals {
  FS: { filesystems: Record<string, unknown>; ErrnoError: new (errno: number) => Error };
  _module: { SOCKFS: { createSocket: () => never }; HEAP8: { buffer: { byteLength: number } } };
}

type RunFn = (source: string, sampleJson: string, itemJson: string, call: boolean) => string;

/** EACCES in emscripten's errno table. */
const EACCES = 2;
const WASM_PAGE = 64 * 1024;
/** What Pyodide may grow to while it loads (its own start-up needs about 30 MiB). */
const LOAD_MEMORY_BYTES = 512 * 1024 * 1024;

/**
 * One CPython interpreter (Pyodide: CPython compiled to WebAssembly, loaded from node_modules with its bundled
 * standard library; nothing is downloaded) for one pool thread. Python code is contained in layers:
 *
 * 1. Python: the JavaScript bridge, sockets, subprocesses and ctypes are removed and refused on import
 *    (python-prelude.ts). The file system is Pyodide's in-memory one: the host's files are not mounted.
 * 2. The bridge itself: `js` is an empty object instead of this thread's globals, the `js`/`pyodide_js` modules are
 *    unregistered, every file system type but the in-memory one is removed (no NODEFS mount of host folders) and
 *    socket creation fails with EACCES (Pyodide's sockets would otherwise open real TCP connections).
 * 3. This thread's JavaScript: the Function constructors (plain, async, generator) are replaced by ones that throw,
 *    so a JavaScript object that Python obtains anyway cannot be turned into code (`o.constructor.constructor(…)`)
 *    and reach `process`.
 * 4. Memory: WebAssembly memory growth past the limit fails, so Python raises MemoryError; the pool thread's V8
 *    heap limit and the pool's wall-clock kill bound the rest.
 */
export class PythonSandbox {
  private constructor(
    private readonly pyodide: PyodideAPI,
    private readonly runFn: RunFn,
    private readonly interrupt: Int32Array | null,
  ) {}

  static async load(options: PythonSandboxOptions): Promise<PythonSandbox> {
    const memory = capMemoryGrowth(LOAD_MEMORY_BYTES);
    const pyodide = await loadPyodide({
      jsglobals: Object.freeze(Object.create(null) as object),
      stdout: () => undefined,
      stderr: () => undefined,
      env: { HOME: '/home/grader' },
      args: [],
    });
    pyodide.runPython(PYTHON_PRELUDE);
    const runFn = pyodide.globals.get('_tt_run') as RunFn;
    closeBridge(pyodide);
    const interrupt = options.interrupt ? new Int32Array(options.interrupt) : null;
    if (interrupt) pyodide.setInterruptBuffer(interrupt);
    lockCodeGeneration();
    const internals = pyodide as unknown as PyodideInternals;
    memory.limit = internals._module.HEAP8.buffer.byteLength + options.memoryLimitBytes;
    return new PythonSandbox(pyodide, runFn, interrupt);
  }

  async run(source: string, sample: unknown, item: unknown): Promise<SandboxOutcome> {
    return this.call(source, JSON.stringify(sample), JSON.stringify(item ?? null), true);
  }

  async check(source: string): Promise<string | null> {
    const out = this.call(source, 'null', 'null', false);
    return out.ok ? null : out.message;
  }

  private call(source: string, sampleJson: string, itemJson: string, call: boolean): SandboxOutcome {
    let answer: string;
    try {
      answer = this.runFn(source, sampleJson, itemJson, call);
    } catch (e) {
      return { ok: false, kind: 'sandbox', message: `python sandbox failed: ${(e as Error).message}` };
    } finally {
      if (this.interrupt) Atomics.store(this.interrupt, 0, 0);
    }
    const [kind, value] = JSON.parse(answer) as [string, number | string];
    if (kind === 'ok') return { ok: true, value: value as number };
    return { ok: false, kind: kind as Exclude<SandboxOutcome, { ok: true }>['kind'], message: String(value) };
  }
}

/** Unregisters the JavaScript modules and removes host file systems and sockets from Pyodide's emscripten runtime. */
function closeBridge(pyodide: PyodideAPI): void {
  for (const name of ['js', 'pyodide_js']) pyodide.unregisterJsModule(name);
  const { FS, _module } = pyodide as unknown as PyodideInternals;
  for (const name of Object.keys(FS.filesystems)) if (name !== 'MEMFS') delete FS.filesystems[name];
  _module.SOCKFS.createSocket = () => {
    throw new FS.ErrnoError(EACCES);
  };
}

/**
 * Replaces the constructor of every function kind with one that throws: `Function('return process')()` and its
 * async/generator variants are the way from any JavaScript object to this thread's globals. Pyodide never builds
 * functions from strings after loading; `.constructor.name` keeps its value for the type checks it does.
 */
function lockCodeGeneration(): void {
  const kinds = [function () {}, async function () {}, function* () {}, async function* () {}]; // eslint-disable-line @typescript-eslint/no-empty-function
  for (const fn of kinds) {
    const proto = Object.getPrototypeOf(fn) as object;
    const name = (proto.constructor as { name: string }).name;
    const blocked = {
      [name]: function () {
        throw new EvalError('code generation from strings is disabled in the grader sandbox');
      },
    }[name];
    Object.defineProperty(blocked, 'prototype', { value: proto });
    Object.defineProperty(proto, 'constructor', { value: blocked, writable: false, configurable: false });
  }
}

/** Makes WebAssembly memory growth in this thread fail past `limit` bytes (emscripten then reports out of memory). */
function capMemoryGrowth(initialLimit: number): { limit: number } {
  const state = { limit: initialLimit };
  const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: { prototype: object } } }).WebAssembly
    .Memory;
  const proto = WasmMemory.prototype as { grow(delta: number): number; buffer: { byteLength: number } };
  const grow = proto.grow;
  Object.defineProperty(proto, 'grow', {
    value: function (this: typeof proto, delta: number): number {
      if (this.buffer.byteLength + delta * WASM_PAGE > state.limit)
        throw new RangeError('grader memory limit');
      return grow.call(this, delta);
    },
    writable: false,
    configurable: false,
  });
  return state;
}
