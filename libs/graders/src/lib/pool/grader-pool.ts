import { Worker } from 'node:worker_threads';

import type { SandboxOutcome } from '../sandbox/javascript-sandbox';
import type { CodeLanguage, FromThread, ThreadInit, ToThread } from './protocol';
import { resolveThreadEntry, type ThreadEntry } from './thread-entry';

export interface GraderPoolOptions {
  /** Threads per language; each holds one sandbox and runs one call at a time. Default 2. */
  threads?: number;
  /** Time limit of a call whose grader sets none. Default 1000 ms. */
  timeoutMs?: number;
  /** Upper bound on every call's time limit (the api's graders/run caps it lower than jobs). Default 60 000 ms. */
  maxTimeoutMs?: number;
  /** How long past its limit a call may run before its thread is terminated. Default 250 ms. */
  killGraceMs?: number;
  /** Sandbox memory per thread: QuickJS heap (default 32 MiB), Python memory growth (default 256 MiB). */
  memoryLimitBytes?: Partial<Record<CodeLanguage, number>>;
  /** A thread that has not loaded its sandbox by then is terminated. Default 120 000 ms. */
  startTimeoutMs?: number;
  /** The thread script (default: `grader-thread.js` beside the bundle, else the TypeScript source via ts-node). */
  threadEntry?: string;
}

export interface CodeTask {
  language: CodeLanguage;
  source: string;
  sample: unknown;
  item: unknown;
  /** The grader's own limit; the pool's default when absent; never above `maxTimeoutMs`. */
  timeoutMs?: number;
}

export interface CodeCallOptions {
  /** Aborting kills the call (its thread is terminated) and rejects with `GradingAbortedError`. */
  signal?: AbortSignal;
  /**
   * Who the code belongs to. With tenants given, a Python thread that ran one tenant's code never runs another's
   * (interpreter state such as imported modules survives between calls); it is replaced instead.
   */
  tenant?: string;
}

/** What graders need from a pool: run `grade(sample, item)`, or check that a source loads and defines `grade`. */
export interface CodeRunner {
  run(task: CodeTask, options?: CodeCallOptions): Promise<SandboxOutcome>;
  check(
    language: CodeLanguage,
    source: string,
    options?: CodeCallOptions & { timeoutMs?: number },
  ): Promise<string | null>;
  /** Starts a thread of `language` (resolves once one is ready, or its start failed), so a first call need not wait. */
  warm?(language: CodeLanguage): Promise<void>;
}

/** A call stopped by its caller's abort signal (cancel, pause, shutdown), not by the grader. */
export class GradingAbortedError extends Error {
  constructor(message = 'grading was aborted') {
    super(message);
    this.name = 'GradingAbortedError';
  }
}

type Answer = SandboxOutcome | { problem: string | null };

interface Call {
  id: number;
  message: ToThread;
  timeoutMs: number;
  tenant: string | null;
  settle(answer: Answer | Error): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  call: Call | null;
  tenant: string | null;
  interrupt: Int32Array | null;
  timers: NodeJS.Timeout[];
  retired: boolean;
}

const DEFAULT_MEMORY: Record<CodeLanguage, number> = {
  javascript: 32 * 1024 * 1024,
  python: 256 * 1024 * 1024,
};
/** V8 heap of a pool thread (the sandboxes' own memory is WebAssembly memory, bounded separately). */
const THREAD_HEAP_MB: Record<CodeLanguage, number> = { javascript: 96, python: 512 };

/**
 * Runs code graders off the caller's event loop, on worker threads, with a hard wall-clock kill: a call still
 * running `killGraceMs` after its limit has its thread terminated (V8 stops even a `while(true){}` or a loop
 * inside WebAssembly) and answers `timeout`; the next call gets a fresh thread. An aborted call is killed the same way.
 * One lane of threads per language; calls queue when every thread of their lane is busy.
 */
export class GraderPool implements CodeRunner {
  readonly threads: number;
  readonly timeoutMs: number;
  readonly maxTimeoutMs: number;
  readonly killGraceMs: number;
  private readonly startTimeoutMs: number;
  private readonly memory: Record<CodeLanguage, number>;
  private readonly lanes = new Map<CodeLanguage, Lane>();
  private entry: ThreadEntry | null = null;
  private nextId = 1;
  private closed = false;
  /** Threads terminated for running past their limit or on abort (for tests and metrics). */
  killed = 0;

  constructor(private readonly options: GraderPoolOptions = {}) {
    this.threads = Math.max(1, options.threads ?? 2);
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.maxTimeoutMs = options.maxTimeoutMs ?? 60_000;
    this.killGraceMs = options.killGraceMs ?? 250;
    this.startTimeoutMs = options.startTimeoutMs ?? 120_000;
    this.memory = { ...DEFAULT_MEMORY, ...options.memoryLimitBytes } as Record<CodeLanguage, number>;
  }

  /** The limit a call runs under: its own or the default, capped by `maxTimeoutMs`. */
  limitFor(timeoutMs?: number): number {
    return Math.max(1, Math.min(timeoutMs ?? this.timeoutMs, this.maxTimeoutMs));
  }

  async run(task: CodeTask, options: CodeCallOptions = {}): Promise<SandboxOutcome> {
    const timeoutMs = this.limitFor(task.timeoutMs);
    const answer = await this.submit(task.language, options, timeoutMs, (id) => ({
      type: 'run',
      id,
      source: task.source,
      sample: task.sample,
      item: task.item,
      timeoutMs,
    }));
    return 'problem' in answer ? { ok: false, kind: 'sandbox', message: 'unexpected answer' } : answer;
  }

  async check(
    language: CodeLanguage,
    source: string,
    options: CodeCallOptions & { timeoutMs?: number } = {},
  ): Promise<string | null> {
    const timeoutMs = this.limitFor(options.timeoutMs);
    const answer = await this.submit(language, options, timeoutMs, (id) => ({
      type: 'check',
      id,
      source,
      timeoutMs,
    }));
    if ('problem' in answer) return answer.problem;
    return answer.ok ? null : answer.message;
  }

  warm(language: CodeLanguage): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.lane(language).warm();
  }

  /** Terminates every thread; queued and running calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    await Promise.all(lanes.map((lane) => lane.close()));
  }

  /** Threads alive per language (for tests and metrics). */
  size(language: CodeLanguage): number {
    return this.lanes.get(language)?.slots.length ?? 0;
  }

  private submit(
    language: CodeLanguage,
    options: CodeCallOptions,
    timeoutMs: number,
    message: (id: number) => ToThread,
  ): Promise<Answer> {
    if (this.closed) return Promise.reject(new Error('the grader pool is closed'));
    if (options.signal?.aborted) return Promise.reject(new GradingAbortedError());
    const id = this.nextId++;
    return new Promise<Answer>((resolve, reject) => {
      const call: Call = {
        id,
        message: message(id),
        timeoutMs,
        tenant: options.tenant ?? null,
        signal: options.signal,
        settle: (answer) => {
          if (call.onAbort) call.signal?.removeEventListener('abort', call.onAbort);
          if (answer instanceof Error) reject(answer);
          else resolve(answer);
        },
      };
      this.lane(language).submit(call);
    });
  }

  private lane(language: CodeLanguage): Lane {
    let lane = this.lanes.get(language);
    if (!lane) {
      this.entry ??= resolveThreadEntry(this.options.threadEntry);
      lane = new Lane(this, language, this.entry, {
        threads: this.threads,
        killGraceMs: this.killGraceMs,
        startTimeoutMs: this.startTimeoutMs,
        memoryLimitBytes: this.memory[language],
      });
      this.lanes.set(language, lane);
    }
    return lane;
  }
}

interface LaneSettings {
  threads: number;
  killGraceMs: number;
  startTimeoutMs: number;
  memoryLimitBytes: number;
}

/** The threads of one language and their queue. */
class Lane {
  readonly slots: Slot[] = [];
  private readonly queue: Call[] = [];
  private warmers: (() => void)[] = [];

  constructor(
    private readonly pool: GraderPool,
    private readonly language: CodeLanguage,
    private readonly entry: ThreadEntry,
    private readonly settings: LaneSettings,
  ) {}

  submit(call: Call): void {
    this.queue.push(call);
    if (call.signal) {
      call.onAbort = () => this.abort(call);
      call.signal.addEventListener('abort', call.onAbort, { once: true });
    }
    this.pump();
  }

  /** Resolves once a thread of this lane is ready (starting one if none is), or a start failed. */
  warm(): Promise<void> {
    if (this.slots.some((s) => s.ready)) return Promise.resolve();
    if (this.slots.length === 0) this.spawn();
    return new Promise((resolve) => this.warmers.push(resolve));
  }

  private wake(): void {
    const warmers = this.warmers;
    this.warmers = [];
    warmers.forEach((resolve) => resolve());
  }

  async close(): Promise<void> {
    this.wake();
    for (const call of this.queue.splice(0)) call.settle(new Error('the grader pool is closed'));
    await Promise.all(
      [...this.slots].map((slot) => {
        slot.call?.settle(new Error('the grader pool is closed'));
        slot.call = null;
        return this.retire(slot);
      }),
    );
  }

  /** Hands queued calls to idle threads, starting threads as needed (FIFO; a call waits for a thread it may use). */
  private pump(): void {
    while (this.queue.length > 0) {
      const call = this.queue[0];
      const slot = this.slots.find((s) => s.ready && !s.call && this.mayRun(s, call));
      if (slot) {
        this.queue.shift();
        this.dispatch(slot, call);
        continue;
      }
      if (this.slots.some((s) => !s.ready)) return; // a thread is starting; it pumps when ready
      if (this.slots.length < this.settings.threads) {
        this.spawn();
        return;
      }
      // Every thread is busy, or idle but tainted by another tenant: replace an idle one.
      const tainted = this.slots.find((s) => s.ready && !s.call);
      if (!tainted) return;
      void this.retire(tainted);
      this.spawn();
      return;
    }
  }

  /** Python interpreter state survives between calls, so a Python thread serves one tenant for its life. */
  private mayRun(slot: Slot, call: Call): boolean {
    return this.language !== 'python' || slot.tenant === null || slot.tenant === call.tenant;
  }

  private dispatch(slot: Slot, call: Call): void {
    slot.call = call;
    if (this.language === 'python') slot.tenant = call.tenant;
    if (slot.interrupt) Atomics.store(slot.interrupt, 0, 0);
    slot.timers.push(
      setTimeout(
        () => this.kill(slot, timeoutOutcome(call.timeoutMs)),
        call.timeoutMs + this.settings.killGraceMs,
      ),
    );
    if (slot.interrupt) {
      const flag = slot.interrupt;
      // Python's soft limit: SIGINT (2) in the interrupt buffer raises KeyboardInterrupt at the next bytecode check.
      slot.timers.push(setTimeout(() => Atomics.store(flag, 0, 2), call.timeoutMs));
    }
    slot.worker.postMessage(call.message);
  }

  private spawn(): void {
    const interrupt = this.language === 'python' ? new SharedArrayBuffer(4) : null;
    const init: ThreadInit = {
      language: this.language,
      memoryLimitBytes: this.settings.memoryLimitBytes,
      interrupt,
    };
    const worker = new Worker(this.entry.code, {
      eval: this.entry.eval,
      workerData: init,
      name: `grader-${this.language}`,
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB[this.language], stackSizeMb: 4 },
    });
    const slot: Slot = {
      worker,
      ready: false,
      call: null,
      tenant: null,
      interrupt: interrupt ? new Int32Array(interrupt) : null,
      timers: [],
      retired: false,
    };
    this.slots.push(slot);
    // The sandboxes print nothing the host should see; drain the streams so a chatty grader cannot block.
    worker.stdout.resume();
    worker.stderr.resume();
    const startTimer = setTimeout(
      () => this.failStart(slot, `the ${this.language} sandbox did not start in time`),
      this.settings.startTimeoutMs,
    );
    slot.timers.push(startTimer);
    worker.on('message', (message: FromThread) => this.onMessage(slot, message, startTimer));
    worker.on('error', (error: Error & { code?: string }) => this.onThreadError(slot, error));
    worker.on('exit', () => this.onThreadError(slot, new Error('the sandbox thread exited')));
  }

  private onMessage(slot: Slot, message: FromThread, startTimer: NodeJS.Timeout): void {
    if (message.type === 'ready') {
      clearTimeout(startTimer);
      slot.ready = true;
      this.wake();
      this.pump();
      return;
    }
    const call = slot.call;
    if (!call || call.id !== message.id) return;
    this.clearTimers(slot);
    slot.call = null;
    call.settle(message.type === 'ran' ? message.outcome : { problem: message.problem });
    this.pump();
  }

  private onThreadError(slot: Slot, error: Error & { code?: string }): void {
    if (slot.retired) return;
    if (!slot.ready && !slot.call) {
      this.failStart(slot, `cannot start the ${this.language} sandbox: ${error.message}`);
      return;
    }
    const memory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
    this.kill(slot, {
      ok: false,
      kind: memory ? 'memory' : 'sandbox',
      message: memory ? 'memory limit exceeded' : `sandbox thread failed: ${error.message}`,
    });
  }

  /** A thread that cannot start fails the call at the head of the queue (so a broken sandbox cannot loop). */
  private failStart(slot: Slot, message: string): void {
    void this.retire(slot);
    this.wake();
    const call = this.queue.shift();
    call?.settle({ ok: false, kind: 'sandbox', message });
    this.pump();
  }

  /** Terminates a thread that is running a call and answers the call with `outcome` (or the abort error). */
  private kill(slot: Slot, outcome: SandboxOutcome | Error): void {
    const call = slot.call;
    slot.call = null;
    void this.retire(slot);
    this.pool.killed += 1;
    call?.settle(outcome);
    this.pump();
  }

  private abort(call: Call): void {
    const queued = this.queue.indexOf(call);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      call.settle(new GradingAbortedError());
      return;
    }
    const slot = this.slots.find((s) => s.call === call);
    if (slot) this.kill(slot, new GradingAbortedError());
  }

  private retire(slot: Slot): Promise<unknown> {
    slot.retired = true;
    this.clearTimers(slot);
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    return slot.worker.terminate().catch(() => undefined);
  }

  private clearTimers(slot: Slot): void {
    slot.timers.forEach(clearTimeout);
    slot.timers = [];
  }
}

function timeoutOutcome(timeoutMs: number): SandboxOutcome {
  return { ok: false, kind: 'timeout', message: `time limit exceeded (${timeoutMs} ms)` };
}
