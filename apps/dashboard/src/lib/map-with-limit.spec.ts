import { mapWithLimit } from './map-with-limit';

describe('mapWithLimit', () => {
  it('should keep the input order and never run more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const results = await mapWithLimit([5, 1, 4, 2, 3], 2, async (n) => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, n * 3));
      running -= 1;
      return n * 10;
    });
    expect(results).toEqual([50, 10, 40, 20, 30]);
    expect(peak).toBe(2);
  });

  it('should answer an empty list without calling the work', async () => {
    const work = jest.fn(async (n: number) => n);
    expect(await mapWithLimit([], 3, work)).toEqual([]);
    expect(work).not.toHaveBeenCalled();
  });
});
