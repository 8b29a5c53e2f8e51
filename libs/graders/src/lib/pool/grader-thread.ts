/**
 * A code-grader pool thread: holds one sandbox (QuickJS or Pyodide, per `workerData.language`) and runs the calls
 * the pool sends it, one at a time. The pool enforces the wall-clock limit by terminating this thread, so nothing
 * here has to be cooperative; the sandboxes' own limits (QuickJS's interrupt, Python's KeyboardInterrupt) only make
 * the common case cheaper, since the thread then survives.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { JavaScriptSandbox, type SandboxOutcome } from '../sandbox/javascript-sandbox';
import type { FromThread, ThreadInit, ToThread } from './protocol';

interface Engine {
  run(source: string, sample: unknown, item: unknown, timeoutMs: number): Promise<SandboxOutcome>;
  check(source: string, timeoutMs: number): Promise<string | null>;
}

async function loadEngine(init: ThreadInit): Promise<Engine> {
  if (init.language === 'python') {
    // Loaded only in Python threads: Pyodide is large (its interpreter and standard library).
    const { PythonSandbox } = await import('../sandbox/python-sandbox');
    const sandbox = await PythonSandbox.load(init);
    return {
      run: (source, sample, item) => sandbox.run(source, sample, item),
      check: (source) => sandbox.check(source),
    };
  }
  const sandbox = new JavaScriptSandbox({ memoryLimitBytes: init.memoryLimitBytes });
  await sandbox.checkSource('function grade() { return 1; }');
  return {
    run: (source, sample, item, timeoutMs) => sandbox.run(source, sample, item, timeoutMs),
    check: (source, timeoutMs) => sandbox.checkSource(source, timeoutMs),
  };
}

async function main(): Promise<void> {
  const port = parentPort;
  if (!port) throw new Error('grader-thread must run as a worker thread');
  const post = (message: FromThread) => port.postMessage(message);
  const engine = await loadEngine(workerData as ThreadInit);
  // Calls arrive one at a time (the pool waits for each answer), so no queue is needed here.
  port.on('message', (message: ToThread) => {
    if (message.type === 'run') {
      void engine
        .run(message.source, message.sample, message.item, message.timeoutMs)
        .then((outcome) => post({ type: 'ran', id: message.id, outcome }));
    } else {
      void engine
        .check(message.source, message.timeoutMs)
        .then((problem) => post({ type: 'checked', id: message.id, problem }));
    }
  });
  post({ type: 'ready' });
}

void main();
