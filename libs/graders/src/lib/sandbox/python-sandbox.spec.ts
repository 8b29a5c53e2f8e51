import { GraderPool } from '../pool/grader-pool';
import { createGrader } from '../registry';
import type { GraderSample } from '../types';

jest.setTimeout(120_000);

/**
 * Python graders end to end through the pool (a worker thread running Pyodide): OpenAI's grade(sample, item) shape,
 * the same error flags as the javascript grader, the limits, and each way out of the sandbox that we close.
 */
describe('python graders (Pyodide on a pool thread)', () => {
  const pool = new GraderPool({
    threads: 1,
    timeoutMs: 1000,
    memoryLimitBytes: { python: 64 * 1024 * 1024 },
  });
  afterAll(() => pool.close());
  const sample = (text: string): GraderSample => ({ output_text: text });
  const grade = (source: string, item: Record<string, unknown> = {}, text = 'x', tenant?: string) =>
    createGrader({ type: 'python', name: 'py', source }, { code: pool }).grade(sample(text), item, {
      tenant,
    });

  it('should score grade(sample, item) with OpenAI shapes (dicts in, float or bool out)', async () => {
    const source = [
      'def grade(sample, item) -> float:',
      '    return 1.0 if sample["output_text"].strip() == item["answer"] else 0.25',
    ].join('\n');
    expect((await grade(source, { answer: '4' }, ' 4 ')).score).toBe(1);
    expect((await grade(source, { answer: '4' }, '5')).score).toBe(0.25);
    expect((await grade('def grade(sample, item):\n    return True')).score).toBe(1);
  });

  it('should flag throws, bad returns and syntax errors as python_grader_runtime_error with details', async () => {
    const thrown = await grade('def grade(sample, item):\n    raise ValueError("nope")');
    expect(thrown.score).toBe(0);
    expect(thrown.errors.python_grader_runtime_error).toBe(true);
    expect(thrown.errors.python_grader_runtime_error_details).toBe('ValueError: nope');
    const text = await grade('def grade(sample, item):\n    return "1"');
    expect(text.errors.python_grader_runtime_error_details).toBe(
      'grade() returned a str, expected a number or bool',
    );
    const nan = await grade('def grade(sample, item):\n    return float("nan")');
    expect(nan.errors.python_grader_runtime_error_details).toContain('expected a finite number');
    const syntax = await grade('def grade(sample, item) return 1');
    expect(syntax.errors.python_grader_runtime_error_details).toMatch(/^SyntaxError/);
  });

  it('should stop an infinite loop at the time limit (unresponsive_reward_error) and keep the thread', async () => {
    const before = pool.killed;
    const r = await grade('def grade(sample, item):\n    while True:\n        pass');
    expect(r.score).toBe(0);
    expect(r.errors.unresponsive_reward_error).toBe(true);
    expect(pool.killed).toBe(before); // KeyboardInterrupt ended it; no reload needed
    expect((await grade('def grade(sample, item):\n    return 0.5')).score).toBe(0.5);
  });

  it('should stop memory bombs with a counted memory error', async () => {
    for (const source of [
      'def grade(sample, item):\n    return len(bytearray(10**9))',
      'def grade(sample, item):\n    xs = []\n    while True:\n        xs.append("x" * 10**6)',
    ]) {
      const r = await grade(source);
      expect(r.score).toBe(0);
      expect(r.errors.python_grader_runtime_error).toBe(true);
      expect(r.errors.python_grader_runtime_error_details).toBe('memory limit exceeded');
    }
    expect((await grade('def grade(sample, item):\n    return 1')).score).toBe(1);
  });

  it('should see only the in-memory file system, never the host files', async () => {
    const r = await grade(
      [
        'import os',
        'def grade(sample, item):',
        '    visible = os.path.exists("/etc/passwd") or os.path.exists("/proc/self/environ") or os.path.exists("/work")',
        '    return 1 if visible else 0',
      ].join('\n'),
    );
    expect(r).toMatchObject({
      score: 0,
      errors: expect.objectContaining({ python_grader_runtime_error: false }),
    });
    const read = await grade('def grade(sample, item):\n    return len(open("/etc/hostname").read())');
    expect(read.errors.python_grader_runtime_error_details).toMatch(/^FileNotFoundError/);
  });

  it.each([
    ['socket', 'import socket'],
    ['_socket', 'import _socket'],
    ['urllib', 'import urllib.request'],
    ['asyncio', 'import asyncio'],
    ['subprocess', 'import subprocess'],
    ['ctypes', 'import ctypes'],
    ['js', 'import js'],
    ['pyodide_js', 'import pyodide_js'],
    ['pyodide', 'from pyodide.code import run_js'],
    ['_pyodide_core', 'import _pyodide_core'],
  ])('should refuse import of %s', async (name, line) => {
    const r = await grade(`${line}\ndef grade(sample, item):\n    return 1`);
    expect(r.score).toBe(0);
    expect(r.errors.python_grader_runtime_error_details).toBe(
      `ImportError: module '${name}' is not available in the grader sandbox`,
    );
  });

  it('should not reach JavaScript code generation, the host globals or a socket by any route found', async () => {
    // Tries the routes that exist in Pyodide: JS objects reachable from loaded modules or the GC, their
    // constructor chain (Function("…") → process), and the socket implementation under Python's socket module.
    const source = String.raw`
import sys
def grade(sample, item):
    found = []
    spaces = [vars(m) for m in list(sys.modules.values()) if hasattr(m, '__dict__')]
    for cls in object.__subclasses__():
        for attr in vars(cls).values():
            g = getattr(getattr(attr, '__func__', attr), '__globals__', None)
            if isinstance(g, dict):
                spaces.append(g)
    for g in spaces:
        for k, v in list(g.items()):
            if k in ('to_js', 'create_proxy', 'run_js', 'js', 'pyodide_js'):
                found.append(v)
            elif '_core' in k and hasattr(v, 'to_js'):
                found.append(v.to_js)
    for f in found:
        for probe in ("return typeof process", "return 1"):
            try:
                target = f({}) if callable(f) else f
                if target.constructor.constructor(probe)() is not None:
                    return 1
            except BaseException:
                pass
    for mod in list(sys.modules.values()):
        sock = getattr(mod, 'socket', None)
        try:
            sock.socket().connect(('127.0.0.1', 6379))
            return 1
        except BaseException:
            pass
    return 0
`;
    const r = await grade(source);
    expect(r.score).toBe(0);
  });

  it('should never run two organizations on one interpreter (module state does not leak)', async () => {
    const write = 'import json\ndef grade(sample, item):\n    json.tt_secret = item["secret"]\n    return 1';
    const read =
      'import json\ndef grade(sample, item):\n    return 1 if getattr(json, "tt_secret", None) else 0';
    expect((await grade(write, { secret: 'org-a data' }, 'x', 'org-a')).score).toBe(1);
    expect((await grade(read, {}, 'x', 'org-a')).score).toBe(1); // same tenant: same thread, as designed
    expect((await grade(read, {}, 'x', 'org-b')).score).toBe(0);
  });

  it('should kill a loop that swallows the interrupt, on the wall clock', async () => {
    const before = pool.killed;
    const r = await grade(
      'def grade(sample, item):\n    while True:\n        try:\n            while True:\n                pass\n        except BaseException:\n            pass',
    );
    expect(r.errors.unresponsive_reward_error).toBe(true);
    expect(pool.killed).toBe(before + 1);
  });
});
