import { Semaphore } from './semaphore';

describe('Semaphore', () => {
  it('should run at most `limit` tasks at once and all of them in the end', async () => {
    const sem = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((resolve) => setTimeout(resolve, 5));
      active--;
      order.push(i);
      return i;
    };
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => sem.run(task(i))));
    expect(results).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(order).toHaveLength(10);
  });

  it('should release the slot when a task fails', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(sem.run(async () => 'next')).resolves.toBe('next');
  });

  it('should reject a limit below 1', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
