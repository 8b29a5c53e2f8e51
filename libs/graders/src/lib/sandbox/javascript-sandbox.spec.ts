import { JavaScriptSandbox } from './javascript-sandbox';

describe('JavaScriptSandbox', () => {
  const sandbox = new JavaScriptSandbox({ timeoutMs: 200, memoryLimitBytes: 16 * 1024 * 1024 });
  afterAll(() => sandbox.dispose());

  it('should return the number grade() returns', async () => {
    const out = await sandbox.run(
      'function grade(s, i) { return s.output_text === i.answer ? 1 : 0.25; }',
      { output_text: '4' },
      { answer: '4' },
    );
    expect(out).toEqual({ ok: true, value: 1 });
  });

  it('should map booleans to 1 and 0', async () => {
    expect(await sandbox.run('function grade() { return true; }', {}, {})).toEqual({ ok: true, value: 1 });
    expect(await sandbox.run('function grade() { return false; }', {}, {})).toEqual({ ok: true, value: 0 });
  });

  it('should await an async grade()', async () => {
    expect(await sandbox.run('async function grade() { return 0.5; }', {}, {})).toEqual({
      ok: true,
      value: 0.5,
    });
  });

  it('should report a thrown error as a runtime error', async () => {
    const out = await sandbox.run('function grade() { throw new Error("boom"); }', {}, {});
    expect(out).toEqual({ ok: false, kind: 'runtime', message: 'Error: boom' });
  });

  it('should reject a string return value', async () => {
    const out = await sandbox.run('function grade() { return "1"; }', {}, {});
    expect(out).toMatchObject({ ok: false, kind: 'bad_return' });
  });

  it('should stop an infinite loop within its time limit', async () => {
    const t0 = Date.now();
    const out = await sandbox.run('function grade() { while (true) {} }', {}, {});
    expect(out).toMatchObject({ ok: false, kind: 'timeout' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('should stop unbounded allocation at the memory limit', async () => {
    // A generous time limit, so that the memory limit (16 MiB) is what stops these loops even on a loaded machine.
    const out = await sandbox.run(
      'function grade() { const a = []; while (true) a.push(new Float64Array(100000)); }',
      {},
      {},
      10_000,
    );
    expect(out).toMatchObject({ ok: false, kind: 'memory' });
    const big = await sandbox.run(
      'function grade() { const a = []; while (true) a.push(new Array(1000).fill(1)); }',
      {},
      {},
      10_000,
    );
    expect(big).toMatchObject({ ok: false, kind: 'memory' });
    expect(await sandbox.run('function grade() { return 2; }', {}, {})).toEqual({ ok: true, value: 2 });
  });

  it('should expose no host objects', async () => {
    const src = `function grade() {
      return [typeof process, typeof require, typeof fetch, typeof setTimeout, typeof console, typeof std, typeof os]
        .every((t) => t === 'undefined') ? 1 : 0;
    }`;
    expect(await sandbox.run(src, {}, {})).toEqual({ ok: true, value: 1 });
  });

  it('should not leak globals or patched built-ins from one call to the next', async () => {
    const src = `function grade(s) {
      if (s.output_text === 'first') { globalThis.seen = 1; Array.prototype.includes = () => true; return 0; }
      return typeof seen === 'undefined' && ![1].includes(2) ? 1 : 0;
    }`;
    await sandbox.run(src, { output_text: 'first' }, {});
    expect(await sandbox.run(src, { output_text: 'second' }, {})).toEqual({ ok: true, value: 1 });
  });
});
