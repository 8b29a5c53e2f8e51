import baseVariant from '@jitl/quickjs-wasmfile-release-sync';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSSyncVariant,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';

export interface JavaScriptSandboxOptions {
  /** CPU-time limit per call (the code runs synchronously, so wall time = CPU time of this thread). Default 1000 ms. */
  timeoutMs?: number;
  /** Heap limit of the sandbox in bytes. Default 32 MiB. */
  memoryLimitBytes?: number;
  /** QuickJS stack limit in bytes (deep recursion → RangeError, not a crash). Default 512 KiB. */
  maxStackBytes?: number;
}

export type SandboxOutcome =
  | { ok: true; value: number }
  | { ok: false; kind: 'runtime' | 'timeout' | 'memory' | 'bad_return' | 'sandbox'; message: string };

/**
 * The published variant loads its emscripten glue with a native `import()`, which CommonJS hosts such as jest cannot
 * run; the package also ships a CommonJS build of the same glue, loaded here through `require` (what TypeScript
 * compiles this `import()` to under `module: commonjs`).
 */
const variant: QuickJSSyncVariant = {
  ...baseVariant,
  importModuleLoader: () =>
    import('@jitl/quickjs-wasmfile-release-sync/emscripten-module').then((m) => m.default),
};

/** `WebAssembly` is a Node global, but this workspace's `lib` setting (es2023, no DOM) does not declare it. */
type WasmMemoryCtor = new (descriptor: { initial: number; maximum: number }) => object;
const WasmMemory = (globalThis as unknown as { WebAssembly: { Memory: WasmMemoryCtor } }).WebAssembly.Memory;

const WASM_PAGE = 64 * 1024;
/** The QuickJS build's own minimum memory (emscripten INITIAL_MEMORY = 16 MiB: static data, C stack, first heap). */
const BASE_MEMORY_BYTES = 16 * 1024 * 1024;

/**
 * Runs `function grade(sample, item)` sources in QuickJS compiled to WebAssembly.
 *
 * Isolation: the sandbox has only the ECMAScript built-ins (no `process`, `require`, `fetch`, timers, console or host
 * functions: nothing is ever injected), and the inputs go in as JSON literals. Every call gets a **fresh QuickJS
 * context** (its own global object and built-ins) in a runtime that is reused for speed, so globals or patched
 * prototypes left by one sample are invisible to the next. The WebAssembly module is reused too.
 *
 * Limits: a deadline interrupt handler (QuickJS polls it while running) stops runaway code; the wasm memory is
 * created with a hard `maximum` (16 MiB base + `memoryLimitBytes`) so allocation fails inside the sandbox instead of
 * growing the host, and `runtime.setMemoryLimit` is set as well (in this QuickJS build it only counts allocation
 * overheads, which is why the wasm maximum is the real bound). After a timeout the runtime is replaced; after an
 * out-of-memory or a wasm trap the whole module is replaced (≈5 ms) since its heap cannot be trusted.
 */
export class JavaScriptSandbox {
  readonly timeoutMs: number;
  readonly memoryLimitBytes: number;
  readonly maxStackBytes: number;
  private module: QuickJSWASMModule | null = null;
  private runtime: QuickJSRuntime | null = null;
  private loading: Promise<QuickJSWASMModule> | null = null;
  private disposed = false;

  constructor(options: JavaScriptSandboxOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.memoryLimitBytes = options.memoryLimitBytes ?? 32 * 1024 * 1024;
    this.maxStackBytes = options.maxStackBytes ?? 512 * 1024;
  }

  /**
   * Evaluates `source` alone (its top-level code runs, under the same limits) and reports a syntax error, a throw or a
   * missing `grade` function; `null` when fine. Never throws.
   */
  async checkSource(source: string, timeoutMs = this.timeoutMs): Promise<string | null> {
    try {
      const rt = await this.ensureRuntime();
      const ctx = rt.newContext();
      try {
        rt.setInterruptHandler(deadline(timeoutMs));
        const r = ctx.evalCode(source, 'grader.js');
        if (r.error) return errorMessage(ctx, r.error);
        r.value.dispose();
        const t = ctx.evalCode('typeof grade');
        const kind = t.error ? 'undefined' : ctx.getString(t.value);
        (t.error ?? t.value).dispose();
        return kind === 'function' ? null : 'the source must define a function named grade(sample, item)';
      } finally {
        ctx.dispose();
      }
    } catch (e) {
      this.resetModule();
      return `sandbox trap: ${(e as Error).message ?? String(e)}`;
    }
  }

  /** Runs `grade(sample, item)` once. Never throws for anything the source does. */
  async run(
    source: string,
    sample: unknown,
    item: unknown,
    timeoutMs = this.timeoutMs,
  ): Promise<SandboxOutcome> {
    if (this.disposed) return { ok: false, kind: 'sandbox', message: 'sandbox disposed' };
    let rt: QuickJSRuntime;
    try {
      rt = await this.ensureRuntime();
    } catch (e) {
      return { ok: false, kind: 'sandbox', message: `cannot start QuickJS: ${(e as Error).message}` };
    }
    let outcome: SandboxOutcome;
    try {
      const ctx = rt.newContext();
      try {
        rt.setInterruptHandler(deadline(timeoutMs));
        outcome = this.callGrade(rt, ctx, source, sample, item);
      } finally {
        ctx.dispose();
      }
    } catch (e) {
      // A wasm trap or a failed disposal: the module's state is unknown, drop it (a new one loads in ≈5 ms).
      this.resetModule();
      const message = (e as Error).message ?? String(e);
      return {
        ok: false,
        kind: /memory/i.test(message) ? 'memory' : 'sandbox',
        message: `sandbox trap: ${message}`,
      };
    }
    if (!outcome.ok && outcome.kind === 'timeout') this.resetRuntime();
    if (!outcome.ok && outcome.kind === 'memory') this.resetModule();
    return outcome;
  }

  dispose(): void {
    this.disposed = true;
    this.resetModule();
  }

  private callGrade(
    rt: QuickJSRuntime,
    ctx: QuickJSContext,
    source: string,
    sample: unknown,
    item: unknown,
  ): SandboxOutcome {
    const defined = ctx.evalCode(source, 'grader.js');
    if (defined.error) return classifyError(ctx, defined.error);
    defined.value.dispose();
    // JSON text is a valid JS expression (ES2019+), so the inputs need no host objects to cross over.
    const call = `typeof grade === 'function' ? grade(${JSON.stringify(sample)}, ${JSON.stringify(item ?? null)})
      : (() => { throw new TypeError('the source must define a function named grade(sample, item)'); })()`;
    const result = ctx.evalCode(call, 'call.js');
    if (result.error) return classifyError(ctx, result.error);
    let handle: QuickJSHandle = result.value;
    if (ctx.typeof(handle) === 'object') {
      // An async grade(): run its jobs (under the same deadline) and read the settled promise.
      const jobs = rt.executePendingJobs();
      if (jobs.error) {
        handle.dispose();
        return classifyError(ctx, jobs.error);
      }
      const state = ctx.getPromiseState(handle);
      if (state.type === 'pending') {
        handle.dispose();
        return { ok: false, kind: 'bad_return', message: 'grade() returned a promise that never settled' };
      }
      if (state.type === 'rejected') {
        handle.dispose();
        return classifyError(ctx, state.error);
      }
      if (!state.notAPromise) {
        handle.dispose();
        handle = state.value;
      }
    }
    try {
      const kind = ctx.typeof(handle);
      if (kind === 'number') {
        const value = ctx.getNumber(handle);
        return Number.isFinite(value)
          ? { ok: true, value }
          : { ok: false, kind: 'bad_return', message: `grade() returned ${value}, expected a finite number` };
      }
      if (kind === 'boolean') return { ok: true, value: ctx.dump(handle) === true ? 1 : 0 };
      return {
        ok: false,
        kind: 'bad_return',
        message: `grade() returned a ${kind}, expected a number or boolean`,
      };
    } finally {
      handle.dispose();
    }
  }

  private async ensureRuntime(): Promise<QuickJSRuntime> {
    if (this.runtime) return this.runtime;
    const mod = await this.ensureModule();
    const rt = mod.newRuntime();
    rt.setMemoryLimit(this.memoryLimitBytes);
    rt.setMaxStackSize(this.maxStackBytes);
    this.runtime = rt;
    return rt;
  }

  private async ensureModule(): Promise<QuickJSWASMModule> {
    if (this.module) return this.module;
    if (!this.loading) {
      const maximumPages = Math.ceil((BASE_MEMORY_BYTES + this.memoryLimitBytes) / WASM_PAGE);
      const wasmMemory = new WasmMemory({ initial: BASE_MEMORY_BYTES / WASM_PAGE, maximum: maximumPages });
      this.loading = newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmMemory })).then(
        (mod) => {
          this.module = mod;
          this.loading = null;
          return mod;
        },
        (e: unknown) => {
          this.loading = null;
          throw e;
        },
      );
    }
    return this.loading;
  }

  private resetRuntime(): void {
    try {
      this.runtime?.dispose();
    } catch {
      // A runtime whose disposal fails is abandoned with its module.
      this.module = null;
    }
    this.runtime = null;
  }

  private resetModule(): void {
    // Nothing is disposed: after a trap QuickJS's heap may be inconsistent; the GC frees the wasm memory.
    this.runtime = null;
    this.module = null;
  }
}

function deadline(timeoutMs: number): () => boolean {
  const end = Date.now() + timeoutMs;
  return () => Date.now() > end;
}

function errorMessage(ctx: QuickJSContext, error: QuickJSHandle): string {
  try {
    const dumped: unknown = ctx.dump(error);
    if (dumped && typeof dumped === 'object' && 'message' in dumped) {
      const { name, message } = dumped as { name?: unknown; message?: unknown };
      return `${typeof name === 'string' ? name : 'Error'}: ${String(message)}`;
    }
    return `thrown: ${JSON.stringify(dumped) ?? String(dumped)}`;
  } finally {
    error.dispose();
  }
}

function classifyError(ctx: QuickJSContext, error: QuickJSHandle): SandboxOutcome {
  const message = errorMessage(ctx, error);
  if (message === 'InternalError: interrupted')
    return { ok: false, kind: 'timeout', message: 'time limit exceeded' };
  if (message === 'InternalError: out of memory')
    return { ok: false, kind: 'memory', message: 'memory limit exceeded' };
  return { ok: false, kind: 'runtime', message };
}
