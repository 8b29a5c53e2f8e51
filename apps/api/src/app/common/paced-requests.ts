import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/** How many queued requests enter the application per turn of the event loop. */
export const REQUESTS_PER_TURN = 1;
/** At most this many turns in a row are left to accepting connections before a queued request enters anyway. */
export const ACCEPT_TURNS = 16;

/**
 * Paces how requests enter the application so a burst cannot hold the event loop. A request's synchronous part
 * (security headers, routing, validation, up to its first database or Redis call) costs a few milliseconds, and 200
 * requests arriving together would otherwise all run in one turn of the loop, every other answer (/health included)
 * waiting the half second that takes. Node accepts one new connection per turn of the loop, so long turns also keep
 * new connections, a load balancer's health probe among them, waiting in the kernel's queue behind the burst.
 *
 * So arriving requests are queued and enter the application `REQUESTS_PER_TURN` per turn (`setImmediate`), and a
 * turn that accepted a connection lets none in (up to `ACCEPT_TURNS` turns in a row): cheap turns drain the accept
 * queue first. Replies, database results and new arrivals interleave with the backlog. Probes (`isProbe`: GET
 * /health) skip the queue. Requests whose client left while queued are dropped. Nothing is refused here; the rate
 * limits do that.
 */
export function paceRequests(server: Server, isProbe: (request: IncomingMessage) => boolean): void {
  const listeners = server.listeners('request') as Listener[];
  if (listeners.length !== 1) throw new Error(`expected one request listener, found ${listeners.length}`);
  const [application] = listeners;
  const queue: [IncomingMessage, ServerResponse][] = [];
  let scheduled = false;
  let accepted = false;
  let acceptTurns = 0;
  const drain = () => {
    scheduled = false;
    if (accepted && acceptTurns < ACCEPT_TURNS) {
      accepted = false;
      acceptTurns++;
      return schedule();
    }
    accepted = false;
    acceptTurns = 0;
    let entered = 0;
    while (entered < REQUESTS_PER_TURN) {
      const next = queue.shift();
      if (!next) break;
      const [request, response] = next;
      if (request.destroyed || response.destroyed) continue; // the client left while it waited
      application(request, response);
      entered++;
    }
    if (queue.length > 0) schedule();
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(drain);
  };
  server.removeListener('request', application);
  server.on('connection', () => (accepted = true));
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (isProbe(request)) return application(request, response);
    queue.push([request, response]);
    schedule();
  });
}
