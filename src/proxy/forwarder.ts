import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Stream, type Readable } from 'node:stream';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';
import { UpstreamTimeoutError, UpstreamUnavailableError } from '../errors.ts';
import type { UpstreamAgents } from './upstream-agents.ts';

/**
 * Sends one request upstream through http-proxy-3 and resolves with the upstream's response
 * *before* anything reaches the client (`selfHandleResponse`): the caller decides whether to
 * stream it to the client or, for a 401, discard it and replay. The body is either the client's
 * stream or, for a replayable request, a fresh stream over the buffered bytes (http-proxy-3's
 * `buffer` option), so the same request can be sent twice.
 *
 * - The response timeout (time to response headers) answers 504; a connection that fails or
 *   resets answers 502. Error messages never name the upstream.
 * - A client that disconnects makes http-proxy-3 destroy the upstream request (and socket).
 * - The proxy has an 'error' listener, so no upstream failure can crash the process.
 */

export interface Attempt {
  upstream: URL;
  /** Path and query on the upstream. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** Buffered bytes (replayable) or the request stream. */
  body: Buffer | Readable;
  timeoutMs: number;
}

interface Pending {
  onProxyRequest(proxyReq: { destroy(error?: Error): void }): void;
  onResponse(proxyRes: IncomingMessage): void;
}

export class Forwarder {
  readonly #proxy: ProxyServer;
  readonly #agents: UpstreamAgents;
  readonly #pending = new WeakMap<IncomingMessage, Pending>();
  readonly #logger: Logger | undefined;
  /** Stateless, so one serves every request without a body. */
  readonly #noBody = new BufferedBody(Buffer.alloc(0));

  constructor(agents: UpstreamAgents, logger?: Logger) {
    this.#agents = agents;
    this.#logger = logger;
    // `toProxy` makes http-proxy-3 send `req.url` as it is (route-table/upstream-target decided
    // and checked it) instead of re-parsing it with the WHATWG URL parser, which reads `\` as `/`
    // and resolves `..`. With `prependPath` off the target contributes only its origin. (Its
    // urlJoin still drops an empty query: `/x?` goes out as `/x`.)
    this.#proxy = createProxyServer({ xfwd: false, changeOrigin: true, prependPath: false, toProxy: true, selfHandleResponse: true });
    this.#proxy.on('proxyReq', (proxyReq, req) => this.#pending.get(req)?.onProxyRequest(proxyReq));
    this.#proxy.on('proxyRes', (proxyRes, req) => this.#pending.get(req)?.onResponse(proxyRes));
    // Errors reach the per-call callbacks; this listener only guards against any that do not.
    this.#proxy.on('error', (err, _req, resOrSocket) => {
      this.#logger?.warn({ event: 'upstream_error', errorCode: (err as NodeJS.ErrnoException).code }, 'upstream error outside a request');
      resOrSocket.destroy();
    });
  }

  get proxy(): ProxyServer {
    return this.#proxy;
  }

  /** Resolves with the upstream response head (body not yet read), or rejects with a 502/504 error. */
  send(req: IncomingMessage, res: ServerResponse, attempt: Attempt): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      let proxyReq: { destroy(error?: Error): void } | undefined;
      let settled = false;
      const settle = (finish: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        res.off('close', onClientClose);
        if (this.#pending.get(req) === pending) this.#pending.delete(req);
        finish();
      };
      const timer = setTimeout(() => {
        settle(() => reject(new UpstreamTimeoutError()));
        proxyReq?.destroy();
      }, attempt.timeoutMs);
      // Nobody is left to answer; the caller sees the client gone and writes nothing.
      const onClientClose = () => settle(() => reject(new UpstreamUnavailableError('The client closed the connection')));
      const pending: Pending = {
        onProxyRequest: (request) => {
          proxyReq = request;
          if (settled) request.destroy();
        },
        onResponse: (proxyRes) => settle(() => resolve(proxyRes)),
      };
      this.#pending.set(req, pending);
      res.once('close', onClientClose);

      const body = Buffer.isBuffer(attempt.body) ? (attempt.body.length === 0 ? this.#noBody : new BufferedBody(attempt.body)) : attempt.body;
      withRequestTarget(req, attempt.path, attempt.headers, () => {
        // The URL itself, not its origin string: http-proxy-3 parses a string target on every call;
        // with prependPath off it uses only the URL's protocol, host and port.
        this.#proxy.web(req, res, { target: attempt.upstream, agent: this.#agents.for(attempt.upstream), buffer: body }, (err) => {
          settle(() => reject(new UpstreamUnavailableError(undefined, { cause: err })));
        });
      });
    });
  }

  /** Proxies a WebSocket handshake (already authorized, headers already built). */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, attempt: Omit<Attempt, 'body' | 'timeoutMs'>): void {
    withRequestTarget(req, attempt.path, attempt.headers, () => {
      this.#proxy.ws(req, socket, head, { target: attempt.upstream, agent: this.#agents.for(attempt.upstream) }, (err) => {
        this.#logger?.warn({ event: 'upstream_ws_error', errorCode: (err as NodeJS.ErrnoException).code }, 'WebSocket upstream failed');
        socket.destroy();
      });
    });
  }
}

/**
 * A buffered body as http-proxy-3 reads it (`buffer.pipe(proxyReq)`): the bytes written and the
 * request ended in one call. The same bytes can be sent again on a replay, and nothing is built
 * per request beyond this object (a `Readable.from` per attempt was a stream, an iterator and
 * a few ticks of scheduling, even for the empty body of every GET).
 */
class BufferedBody extends Stream {
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    super();
    this.#bytes = bytes;
  }

  override pipe<T extends NodeJS.WritableStream>(destination: T): T {
    if (this.#bytes.length === 0) destination.end();
    else destination.end(this.#bytes);
    return destination;
  }
}

/**
 * http-proxy-3 reads the outgoing path and headers from `req.url` and `req.headers`, synchronously
 * inside `web()`/`ws()`. Set them for that call only, so that middleware further out (access log)
 * still sees the request as the client sent it.
 */
function withRequestTarget(req: IncomingMessage, path: string, headers: OutgoingHttpHeaders, call: () => void): void {
  const original = { url: req.url, headers: req.headers };
  req.url = path;
  req.headers = headers as IncomingHttpHeaders;
  try {
    call();
  } finally {
    req.url = original.url;
    req.headers = original.headers;
  }
}
