import type { Response } from 'express';

/** Where a live stream writes to; the service never sees Express. */
export interface EventSink {
  /** True once the client went away: the producer stops at its next check. */
  readonly closed: boolean;
  send(event: string, data: unknown): void;
  /** A comment line, ignored by clients: keeps idle proxies from cutting the connection. */
  keepAlive(): void;
  end(): void;
  /** Resolves after `ms`, or at once when the client disconnects. */
  sleep(ms: number): Promise<void>;
}

/**
 * Server-sent events over an Express response (`text/event-stream`, one `event:`/`data:` block per message).
 * Clients read it with `fetch` + a stream parser rather than EventSource, so the API key travels in the
 * Authorization header and never in a URL.
 */
export class SseWriter implements EventSink {
  private isClosed = false;
  private wake: (() => void) | null = null;

  constructor(private readonly response: Response) {
    response.status(200);
    response.setHeader('content-type', 'text/event-stream; charset=utf-8');
    response.setHeader('cache-control', 'no-cache, no-transform');
    response.setHeader('connection', 'keep-alive');
    // nginx and similar proxies buffer responses unless told not to; a buffered stream is not live.
    response.setHeader('x-accel-buffering', 'no');
    response.flushHeaders();
    // The response's 'close' fires when the client goes away (or the response ended); the request's own 'close'
    // only means its body was read.
    response.on('close', () => this.close());
  }

  get closed(): boolean {
    return this.isClosed || this.response.writableEnded;
  }

  send(event: string, data: unknown): void {
    if (this.closed) return;
    this.response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  keepAlive(): void {
    if (!this.closed) this.response.write(': keep-alive\n\n');
  }

  end(): void {
    if (!this.response.writableEnded) this.response.end();
    this.close();
  }

  sleep(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private close(): void {
    this.isClosed = true;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
