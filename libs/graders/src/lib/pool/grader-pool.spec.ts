import { join } from 'node:path';

import { GraderPool, GradingAbortedError } from './grader-pool';

const stubborn = join(__dirname, 'fixtures', 'stubborn-thread.js');
const task = { language: 'javascript' as const, source: '', sample: {}, item: {} };

describe('GraderPool', () => {
  it('should terminate a thread whose call runs past its limit and answer timeout', async () => {
    const pool = new GraderPool({ threads: 1, threadEntry: stubborn, killGraceMs: 50 });
    try {
      const out = await pool.run({ ...task, timeoutMs: 100 });
      expect(out).toEqual({ ok: false, kind: 'timeout', message: 'time limit exceeded (100 ms)' });
      expect(pool.killed).toBe(1);
      // The next call gets a fresh thread (which the fixture answers for checks).
      expect(await pool.check('javascript', 'x')).toBeNull();
      expect(pool.size('javascript')).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('should cap every limit at maxTimeoutMs', async () => {
    const pool = new GraderPool({ threads: 1, threadEntry: stubborn, killGraceMs: 0, maxTimeoutMs: 150 });
    try {
      expect(pool.limitFor(60_000)).toBe(150);
      expect(pool.limitFor(undefined)).toBe(150);
      expect(await pool.run({ ...task, timeoutMs: 60_000 })).toMatchObject({
        kind: 'timeout',
        message: 'time limit exceeded (150 ms)',
      });
    } finally {
      await pool.close();
    }
  });

  it('should kill a running call on abort and drop a queued one', async () => {
    const pool = new GraderPool({ threads: 1, threadEntry: stubborn });
    try {
      const controller = new AbortController();
      const running = pool.run({ ...task, timeoutMs: 60_000 }, { signal: controller.signal });
      const queued = pool.run({ ...task, timeoutMs: 60_000 }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 200);
      await expect(running).rejects.toBeInstanceOf(GradingAbortedError);
      await expect(queued).rejects.toBeInstanceOf(GradingAbortedError);
      expect(pool.killed).toBe(1);
      await expect(pool.run(task, { signal: controller.signal })).rejects.toBeInstanceOf(GradingAbortedError);
    } finally {
      await pool.close();
    }
  });

  it('should keep the caller event loop free while a grader spins', async () => {
    const pool = new GraderPool({ threads: 1, timeoutMs: 1500 });
    try {
      const spinning = pool.run({ ...task, source: 'function grade() { for (;;) {} }' });
      let ticks = 0;
      const timer = setInterval(() => (ticks += 1), 20);
      const out = await spinning;
      clearInterval(timer);
      expect(out).toMatchObject({ ok: false, kind: 'timeout' });
      // A synchronous sandbox would have blocked every tick until the limit.
      expect(ticks).toBeGreaterThan(5);
    } finally {
      await pool.close();
    }
  });

  it('should answer a sandbox error when a thread cannot start', async () => {
    const pool = new GraderPool({ threads: 1, threadEntry: join(__dirname, 'fixtures', 'missing.js') });
    try {
      expect(await pool.run(task)).toMatchObject({ ok: false, kind: 'sandbox' });
    } finally {
      await pool.close();
    }
  });

  it('should reject calls after close', async () => {
    const pool = new GraderPool({ threads: 1, threadEntry: stubborn });
    const pending = pool.run({ ...task, timeoutMs: 60_000 }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    await pool.close();
    expect(await pending).toMatchObject({ message: 'the grader pool is closed' });
    await expect(pool.run(task)).rejects.toThrow(/closed/);
  });
});
