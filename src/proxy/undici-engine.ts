import type { IncomingHttpHeaders } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts';
import { type Attempt, type ClientSide, type Deliver, type ExchangeResult, type ForwardingEngine, HOLD_LIMIT, type HeldResponse } from './engine.ts';

/**
 * Forwarding with undici: one `Pool` of keep-alive connections per upstream origin, and a
 * dispatch handler per attempt that writes the upstream's response straight into the client's
 * `ServerResponse` (no intermediate stream objects), with back-pressure both ways: a client
 * that reads slowly pauses the upstream connection until it drains.
 *
 * - No response head within the route timeout: the request is aborted, 504. A connection that
 *   fails or resets before the head: 502. Error messages never name the upstream.
 * - A client that disconnects aborts the upstream request: undici destroys that connection
 *   (it is never returned to the pool half-read).
 * - After the head, a broken upstream or client cuts both sides: the client never sees a
 *   silently truncated "complete" body.
 * - undici sends `Connection: keep-alive`, never `close`, and sets Host from the upstream.
 */

export interface UndiciEngineOptions {
  /** Connections per upstream origin. Default 256. */
  connections?: number;
}

export class UndiciEngine implements ForwardingEngine {
  readonly #pools = new Map<string, Pool>();
  readonly #connections: number;

  constructor(options: UndiciEngineOptions = {}) {
    this.#connections = options.connections ?? 256;
  }

  exchange(attempt: Attempt, client: ClientSide, deliver: Deliver): Promise<ExchangeResult> {
    // Gone while the session was loaded or the body read: nothing is sent upstream.
    if (client.res.destroyed) return Promise.reject(new UpstreamUnavailableError('The client closed the connection'));
    return new Promise<ExchangeResult>((resolve, reject) => {
      const handler = new ExchangeHandler(client, deliver, attempt.timeoutMs, resolve, reject);
      // No header set by the client is trusted for Host: the configured upstream's is used.
      const headers = attempt.headers as Record<string, string | string[]>;
      headers.host = attempt.upstream.host;
      this.#pool(attempt.upstream).dispatch(
        { method: attempt.method, path: attempt.path, headers, body: attempt.body, headersTimeout: 0, bodyTimeout: 0, blocking: false },
        handler,
      );
    });
  }

  async close(): Promise<void> {
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    await Promise.all(pools.map((pool) => pool.destroy().catch(() => undefined)));
  }

  #pool(upstream: URL): Pool {
    let pool = this.#pools.get(upstream.origin);
    if (pool === undefined) {
      pool = new Pool(upstream.origin, { connections: this.#connections });
      this.#pools.set(upstream.origin, pool);
    }
    return pool;
  }
}

/** The client went away; never answered, only used to abort the upstream request. */
class ClientGone extends Error {}

class ExchangeHandler implements Dispatcher.DispatchHandler {
  readonly #client: ClientSide;
  readonly #deliver: Deliver;
  readonly #resolve: (result: ExchangeResult) => void;
  readonly #reject: (err: Error) => void;
  readonly #timer: NodeJS.Timeout;
  #controller: Dispatcher.DispatchController | undefined;
  #state: 'waiting' | 'streaming' | 'holding' | 'done' = 'waiting';
  #status = 0;
  #held: HeldResponse | undefined;
  #heldBytes = 0;

  constructor(client: ClientSide, deliver: Deliver, timeoutMs: number, resolve: (result: ExchangeResult) => void, reject: (err: Error) => void) {
    this.#client = client;
    this.#deliver = deliver;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#timer = setTimeout(this.#timedOut, timeoutMs);
    client.res.once('close', this.#clientClosed);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    // Timed out or abandoned while it waited for a pool connection: never send it.
    if (this.#state === 'done') controller.abort(new ClientGone());
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders, statusMessage?: string): void {
    if (this.#state !== 'waiting') return;
    clearTimeout(this.#timer);
    this.#status = statusCode;
    if (!this.#deliver(statusCode)) {
      this.#state = 'holding';
      this.#held = { status: statusCode, statusMessage, headers, body: [], complete: true };
      return;
    }
    const { res } = this.#client;
    // A head Node refuses to write (an invalid header value) throws here: still 'waiting', so
    // undici's abort reaches onResponseError and the client gets a 502, not a cut connection.
    res.writeHead(statusCode, statusMessage, this.#client.responseHeaders(headers));
    this.#state = 'streaming';
    this.#client.onHead(statusCode);
    // An event stream or a chunked download: the head goes now, before the first chunk exists.
    if (headers['content-length'] === undefined) res.flushHeaders();
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#state === 'holding') {
      this.#hold(chunk);
      return;
    }
    if (this.#state !== 'streaming') return;
    const { res } = this.#client;
    if (!res.write(chunk)) {
      controller.pause();
      res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (this.#state === 'streaming') this.#client.res.end();
    this.#finish();
  }

  onResponseError(controller: Dispatcher.DispatchController, error: Error): void {
    const state = this.#state;
    if (state === 'done') return;
    if (state === 'waiting') {
      this.#settle();
      if (error instanceof UpstreamTimeoutError) this.#reject(error);
      else if (error instanceof ClientGone) this.#reject(new UpstreamUnavailableError('The client closed the connection'));
      else this.#reject(new UpstreamUnavailableError(undefined, { cause: error }));
      return;
    }
    // After the head: cut the client too, never a silently truncated body. A held body that
    // broke is not whole either.
    if (state === 'streaming') this.#client.res.destroy();
    if (state === 'holding') this.#held!.complete = false;
    this.#finish();
  }

  #hold(chunk: Buffer): void {
    const held = this.#held!;
    if (!held.complete) return;
    this.#heldBytes += chunk.length;
    if (this.#heldBytes > HOLD_LIMIT) {
      held.complete = false;
      held.body = [];
    } else {
      held.body.push(chunk);
    }
  }

  #finish(): void {
    if (this.#state === 'done') return;
    const held = this.#state === 'holding' ? this.#held : undefined;
    this.#settle();
    this.#resolve(held === undefined ? { status: this.#status, delivered: true } : { status: this.#status, delivered: false, held });
  }

  #settle(): void {
    this.#state = 'done';
    clearTimeout(this.#timer);
    this.#client.res.off('close', this.#clientClosed);
  }

  readonly #timedOut = (): void => {
    if (this.#state !== 'waiting') return;
    const error = new UpstreamTimeoutError();
    if (this.#controller !== undefined) this.#controller.abort(error);
    else {
      this.#settle();
      this.#reject(error);
    }
  };

  readonly #clientClosed = (): void => {
    if (this.#state === 'done' || this.#client.res.writableFinished) return;
    if (this.#controller !== undefined) this.#controller.abort(new ClientGone());
    else {
      this.#settle();
      this.#reject(new UpstreamUnavailableError('The client closed the connection'));
    }
  };
}
