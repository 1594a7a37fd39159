import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * The HTTP listeners of one process and the requests in flight on them, for graceful shutdown:
 *
 * - `drain()`: keep accepting, but every response from now on (including those of requests in
 *   flight that have not answered yet) carries `Connection: close`, so clients on keep-alive
 *   connections move to another replica after their next response instead of having a request
 *   cut off when the listener closes.
 * - `stopAccepting()`: no new connections (`server.close()`); idle keep-alive connections are
 *   closed at once, and a request that still arrives on an open connection is answered with
 *   `Connection: close`.
 * - `idle()`: resolves when no request is in flight.
 * - `forceClose()`: ends every connection that is left: keep-alive ones that went idle once
 *   their request finished, and any request still running when the grace period is over.
 * - `closed()`: resolves when every server has closed.
 */
export class Listeners {
  readonly #servers = new Set<Server>();
  readonly #inFlight = new Set<ServerResponse>();
  #draining = false;
  #stopped = false;
  #idleWaiters: Array<() => void> = [];
  readonly #closed = new Map<Server, Promise<void>>();

  /** Puts a server under this shutdown; call it before the server takes requests. */
  add(server: Server): void {
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    server.on('request', (_req: IncomingMessage, res: ServerResponse) => this.#track(res));
    if (this.#stopped) this.#stop(server);
  }

  /** Forgets a server that was closed by other means. */
  delete(server: Server): void {
    this.#servers.delete(server);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  get draining(): boolean {
    return this.#draining;
  }

  drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    for (const res of this.#inFlight) closeAfter(res);
  }

  stopAccepting(): void {
    this.drain();
    if (this.#stopped) return;
    this.#stopped = true;
    for (const server of this.#servers) this.#stop(server);
  }

  idle(): Promise<void> {
    if (this.#inFlight.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  forceClose(): void {
    for (const server of this.#servers) server.closeAllConnections();
  }

  /** Resolves when every server has closed (after stopAccepting). */
  async closed(): Promise<void> {
    await Promise.all([...this.#servers].map((server) => this.#closed.get(server) ?? Promise.resolve()));
  }

  #stop(server: Server): void {
    if (this.#closed.has(server)) return;
    this.#closed.set(
      server,
      new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
    );
    server.closeIdleConnections();
  }

  #track(res: ServerResponse): void {
    this.#inFlight.add(res);
    // A replayed proxy response legitimately carries about ten 'close' listeners (Koa, the access
    // log, http-proxy-3 once per attempt, the stream pipeline); this one is one more, not a leak.
    if (res.getMaxListeners() < 20) res.setMaxListeners(20);
    if (this.#draining) closeAfter(res);
    res.once('close', () => {
      this.#inFlight.delete(res);
      if (this.#inFlight.size === 0) {
        const waiters = this.#idleWaiters;
        this.#idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    });
  }
}

/**
 * The connection closes after this response. `shouldKeepAlive = false` makes Node send
 * `Connection: close` and end the socket whatever headers the handler (or a proxied upstream)
 * sets later.
 */
function closeAfter(res: ServerResponse): void {
  if (res.headersSent) return;
  res.shouldKeepAlive = false;
  res.setHeader('Connection', 'close');
}
