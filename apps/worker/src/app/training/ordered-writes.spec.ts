import { OrderedWrites } from './ordered-writes';

/** The worker's write path for a job's reports through a database outage: in order, retried, bounded. */
describe('OrderedWrites', () => {
  const writer = (retryMs: number, maxPending = 100) => {
    const gaveUp: string[] = [];
    const retries: string[] = [];
    const writes = new OrderedWrites({
      retryMs,
      maxPending,
      onRetry: (what) => retries.push(what),
      onGiveUp: (what, error) => gaveUp.push(`${what}: ${error.message}`),
    });
    return { writes, gaveUp, retries };
  };

  it('should retry a failing write and keep later writes behind it, in order', async () => {
    const { writes, gaveUp, retries } = writer(10_000);
    const done: number[] = [];
    let outage = 2;
    writes.add('step 1', async () => {
      if (outage-- > 0) throw new Error('connection refused');
      done.push(1);
    });
    writes.add('step 2', async () => done.push(2));
    await writes.settled();
    expect(done).toEqual([1, 2]);
    expect(retries).toEqual(['step 1', 'step 1']);
    expect(gaveUp).toEqual([]);
  });

  it('should give up once the outage outlasts the retry budget, and write nothing after', async () => {
    const { writes, gaveUp } = writer(600);
    const done: string[] = [];
    writes.add('step 1', () => Promise.reject(new Error('connection refused')));
    writes.add('step 2', async () => done.push('step 2'));
    await writes.settled();
    expect(gaveUp).toEqual(['step 1: connection refused']);
    expect(done).toEqual([]);
    expect(writes.gaveUp).toBe(true);
  });

  it('should give up when more reports wait than its buffer holds', async () => {
    const { writes, gaveUp } = writer(10_000, 2);
    let release = () => undefined as void;
    writes.add('step 1', () => new Promise<void>((r) => (release = r)));
    writes.add('step 2', async () => undefined);
    writes.add('step 3', async () => undefined);
    expect(gaveUp).toEqual(['step 3: 2 reports are already waiting for the database']);
    release();
    await writes.settled();
  });
});
