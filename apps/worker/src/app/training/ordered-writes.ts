/**
 * The worker's writes of one job's reports (steps, metrics, events, checkpoints, the outcome), strictly in order and
 * retried through a database outage: each write is tried again with backoff until `retryMs` has passed since it first
 * failed, while later reports wait behind it (at most `maxPending`). Past either bound the writer gives up once
 * (`onGiveUp`) and drops everything after, so the job can be stopped and failed clearly: a report is recorded in order
 * or the job does not go on — never a silent gap.
 */
export interface OrderedWritesOptions {
  retryMs: number;
  maxPending: number;
  onRetry: (what: string, attempt: number, error: Error) => void;
  onGiveUp: (what: string, error: Error) => void;
}

const FIRST_DELAY_MS = 250;
const MAX_DELAY_MS = 5_000;

export class OrderedWrites {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private failed = false;

  constructor(private readonly options: OrderedWritesOptions) {}

  /** True once a write was given up: nothing more is written. */
  get gaveUp(): boolean {
    return this.failed;
  }

  add(what: string, write: () => Promise<unknown>): void {
    if (this.failed) return;
    if (this.pending >= this.options.maxPending) {
      this.giveUp(what, new Error(`${this.pending} reports are already waiting for the database`));
      return;
    }
    this.pending += 1;
    this.chain = this.chain.then(async () => {
      try {
        if (!this.failed) await this.retrying(what, write);
      } catch (error) {
        this.giveUp(what, error as Error);
      } finally {
        this.pending -= 1;
      }
    });
  }

  /** Resolves when every write added so far is done (or dropped). */
  settled(): Promise<void> {
    return this.chain;
  }

  private giveUp(what: string, error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.options.onGiveUp(what, error);
  }

  private async retrying(what: string, write: () => Promise<unknown>): Promise<void> {
    const started = Date.now();
    for (let attempt = 1, delay = FIRST_DELAY_MS; ; attempt++, delay = Math.min(MAX_DELAY_MS, delay * 2)) {
      try {
        await write();
        return;
      } catch (error) {
        if (Date.now() - started + delay > this.options.retryMs) throw error;
        this.options.onRetry(what, attempt, error as Error);
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}

/** Runs one write with the same retry policy as OrderedWrites, outside a job's ordered stream (its final status). */
export async function retryWrite<T>(retryMs: number, write: () => Promise<T>): Promise<T> {
  const started = Date.now();
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(MAX_DELAY_MS, delay * 2)) {
    try {
      return await write();
    } catch (error) {
      if (Date.now() - started + delay > retryMs) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
