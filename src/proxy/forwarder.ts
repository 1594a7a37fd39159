import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { createProxyServer, type ProxyServer } from 'http-proxy-3';
import type { Logger } from 'pino';
import type { UpstreamAgents } from './upstream-agents.ts';

/**
 * WebSocket upgrades through http-proxy-3 (HTTP requests go through the undici engine, see
 * undici-engine.ts): the handshake, already authorized and with its headers built, is proxied
 * and the two sockets are joined. The proxy has an 'error' listener, so no upstream failure can
 * crash the process.
 */

export interface UpgradeAttempt {
  upstream: URL;
  /** Path and query on the upstream. */
  path: string;
  headers: OutgoingHttpHeaders;
}

export class Forwarder {
  readonly #proxy: ProxyServer;
  readonly #agents: UpstreamAgents;
  readonly #logger: Logger | undefined;
  /** The `onOpen` of each client socket whose handshake is being proxied. */
  readonly #opening = new WeakMap<Socket, (upstream: Socket) => void>();

  constructor(agents: UpstreamAgents, logger?: Logger) {
    this.#agents = agents;
    this.#logger = logger;
    // `toProxy` makes http-proxy-3 send `req.url` as it is (route-table/upstream-target decided
    // and checked it) instead of re-parsing it with the WHATWG URL parser, which reads `\` as `/`
    // and resolves `..`. With `prependPath` off the target contributes only its origin.
    this.#proxy = createProxyServer({ xfwd: false, changeOrigin: true, prependPath: false, toProxy: true });
    // Errors reach the per-call callbacks; this listener only guards against any that do not.
    this.#proxy.on('error', (err, _req, resOrSocket) => {
      this.#logger?.warn({ event: 'upstream_error', errorCode: (err as NodeJS.ErrnoException).code }, 'upstream error outside a request');
      resOrSocket.destroy();
    });
    // Pairs the upstream socket with its client socket: 'proxyReqWs' names the client socket,
    // the request's 'upgrade' the upstream one; http-proxy-3 pipes them (and emits 'open') right
    // after, so `onOpen` runs once that pipe exists and before any byte flows through it.
    this.#proxy.on('proxyReqWs', (proxyReq, _req, socket) => {
      const onOpen = this.#opening.get(socket as Socket);
      if (onOpen === undefined) return;
      this.#opening.delete(socket as Socket);
      proxyReq.once('upgrade', (_res, upstream: Socket) => {
        this.#proxy.once('open', (opened: Socket) => {
          if (opened === upstream) onOpen(upstream);
        });
      });
    });
  }

  /**
   * Proxies a WebSocket handshake (already authorized, headers already built). `onOpen` gets the
   * upstream socket once the upstream answered 101 and the two sockets are piped.
   */
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer, attempt: UpgradeAttempt, onOpen?: (upstream: Socket) => void): void {
    if (onOpen !== undefined) this.#opening.set(socket, onOpen);
    withRequestTarget(req, attempt.path, attempt.headers, () => {
      this.#proxy.ws(req, socket, head, { target: attempt.upstream, agent: this.#agents.for(attempt.upstream) }, (err) => {
        this.#logger?.warn({ event: 'upstream_ws_error', errorCode: (err as NodeJS.ErrnoException).code }, 'WebSocket upstream failed');
        socket.destroy();
      });
    });
  }
}

/**
 * http-proxy-3 reads the outgoing path and headers from `req.url` and `req.headers`, synchronously
 * inside `ws()`. Set them for that call only.
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
