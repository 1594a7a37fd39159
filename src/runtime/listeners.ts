import { InFlight } from '../in-flight.ts';
import { closeServer, type ClosableServer } from './listen.ts';

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
 * - `closeKept()`: closes the servers added with `keep` (the ops listener), which answer
 *   probes and scrapes through all of the above.
 */

/** What Listeners needs of a `node:http` Server (a unit test passes a fake). */
export interface DrainableServer extends ClosableServer {
  on(event: 'request', listener: (req: unknown, res: TrackedResponse) => void): unknown;
  closeAllConnections(): void;
}

/** What Listeners needs of a `node:http` ServerResponse. */
export interface TrackedResponse {
  readonly headersSent: boolean;
  shouldKeepAlive: boolean;
  setHeader(name: string, value: string): unknown;
  getMaxListeners(): number;
  setMaxListeners(n: number): unknown;
  once(event: 'close', listener: () => void): unknown;
}

export class Listeners {
  readonly #servers = new Set<DrainableServer>();
  readonly #kept = new Set<ClosableServer>();
  readonly #inFlight = new InFlight<TrackedResponse>();
  #draining = false;
  #stopped = false;
  readonly #closed = new Map<DrainableServer, Promise<void>>();

  /**
   * Puts a server under this shutdown; call it before the server takes requests. With `keep`
   * it is not drained and keeps answering until `closeKept()`.
   */
  add(server: DrainableServer, options: { keep?: boolean } = {}): void {
    if (options.keep) {
      this.#kept.add(server);
      return;
    }
    if (this.#servers.has(server)) return;
    this.#servers.add(server);
    server.on('request', (_req, res) => this.#track(res));
    if (this.#stopped) this.#stop(server);
  }

  /** Forgets a server that was closed by other means. */
  delete(server: DrainableServer): void {
    this.#servers.delete(server);
    this.#kept.delete(server);
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
    return this.#inFlight.idle();
  }

  forceClose(): void {
    for (const server of this.#servers) server.closeAllConnections();
  }

  /** Resolves when every server has closed (after stopAccepting). */
  async closed(): Promise<void> {
    await Promise.all([...this.#servers].map((server) => this.#closed.get(server) ?? Promise.resolve()));
  }

  /** Closes the servers added with `keep`. */
  async closeKept(): Promise<void> {
    await Promise.all([...this.#kept].map((server) => closeServer(server)));
  }

  #stop(server: DrainableServer): void {
    if (!this.#closed.has(server)) this.#closed.set(server, closeServer(server));
  }

  #track(res: TrackedResponse): void {
    this.#inFlight.add(res);
    // A replayed proxy response legitimately carries about ten 'close' listeners (Koa, the access
    // log, http-proxy-3 once per attempt, the stream pipeline); this one is one more, not a leak.
    if (res.getMaxListeners() < 20) res.setMaxListeners(20);
    if (this.#draining) closeAfter(res);
    res.once('close', () => this.#inFlight.delete(res));
  }
}

/**
 * The connection closes after this response. `shouldKeepAlive = false` makes Node send
 * `Connection: close` and end the socket whatever headers the handler (or a proxied upstream)
 * sets later.
 */
function closeAfter(res: TrackedResponse): void {
  if (res.headersSent) return;
  res.shouldKeepAlive = false;
  res.setHeader('Connection', 'close');
}
