import type { SandboxOutcome } from '../sandbox/javascript-sandbox';

/** The languages a code grader can be written in; each runs on its own threads. */
export type CodeLanguage = 'javascript' | 'python';

/** What a pool thread is told when it starts. */
export interface ThreadInit {
  language: CodeLanguage;
  /** Heap limit of the sandbox (QuickJS heap, or the Python interpreter's memory growth). */
  memoryLimitBytes: number;
  /**
   * Python only: the interrupt flag the pool sets when a call's time is up (Python raises KeyboardInterrupt at its
   * next check); a call that ignores it is killed with its thread.
   */
  interrupt: SharedArrayBuffer | null;
}

/** Pool → thread. */
export type ToThread =
  | { type: 'run'; id: number; source: string; sample: unknown; item: unknown; timeoutMs: number }
  | { type: 'check'; id: number; source: string; timeoutMs: number };

/** Thread → pool: `ready` once the sandbox is loaded (the pool dispatches only to ready threads), then answers. */
export type FromThread =
  | { type: 'ready' }
  | { type: 'ran'; id: number; outcome: SandboxOutcome }
  | { type: 'checked'; id: number; problem: string | null };
