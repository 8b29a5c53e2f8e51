import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

import { paceRequests } from './paced-requests';

/** Busy for `ms` milliseconds on the event loop: a request's synchronous part (routing, validation, …). */
function spin(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

interface Harness {
  server: Server;
  port: number;
  /** Paths in the order the application saw them. */
  handled: string[];
}

async function start(paced: boolean): Promise<Harness> {
  const handled: string[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    handled.push(request.url ?? '');
    if (request.url !== '/health') spin(5);
    response.end('ok');
  });
  if (paced) paceRequests(server, (r) => r.url === '/health');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, handled };
}

/** One GET on a connection of its own (no keep-alive), as a burst of separate clients and a probe would send. */
function get(port: number, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, agent: false }, (response) => {
      response.resume();
      response.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `n` requests at once, then a /health probe on a new connection; resolves with how many requests the
 * application had handled when it handled the probe. */
async function burstThenProbe(h: Harness, n: number): Promise<number> {
  const burst = Array.from({ length: n }, (_, i) => get(h.port, `/work/${i}`));
  await new Promise((r) => setTimeout(r, 5));
  await get(h.port, '/health');
  await Promise.all(burst);
  return h.handled.indexOf('/health');
}

describe('paceRequests', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    const server = harness?.server;
    harness = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  });

  it('should answer a probe on a new connection while most of a burst still waits', async () => {
    harness = await start(true);
    const before = await burstThenProbe(harness, 100);
    // Connections are accepted before queued requests enter, and the probe skips the queue.
    expect(before).toBeLessThan(50);
    expect(harness.handled).toHaveLength(101);
  });

  it('should show what it replaces: unpaced, the probe is handled only after the whole burst', async () => {
    harness = await start(false);
    expect(await burstThenProbe(harness, 100)).toBeGreaterThanOrEqual(90);
  });

  it('should hand requests to the application in arrival order, one connection at a time', async () => {
    harness = await start(true);
    for (let i = 0; i < 5; i++) await get(harness.port, `/seq/${i}`);
    expect(harness.handled).toEqual(['/seq/0', '/seq/1', '/seq/2', '/seq/3', '/seq/4']);
  });

  it('should drop a queued request whose client left before it entered', async () => {
    harness = await start(true);
    const h = harness;
    // Fill the queue, then send one more and abort it at once: it is never handled.
    const burst = Array.from({ length: 40 }, (_, i) => get(h.port, `/work/${i}`));
    await new Promise((r) => setTimeout(r, 5));
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port: h.port, path: '/gone', agent: false });
      req.on('error', () => resolve());
      req.end(() => setTimeout(() => req.destroy(), 5));
      req.on('close', () => resolve());
    });
    await Promise.all(burst);
    await new Promise((r) => setTimeout(r, 50));
    expect(h.handled).toHaveLength(40);
    expect(h.handled).not.toContain('/gone');
  });

  it('should refuse a server that has other request listeners (it would answer twice)', () => {
    const server = createServer(() => undefined);
    server.on('request', () => undefined);
    expect(() => paceRequests(server, () => false)).toThrow(/one request listener/);
  });
});
