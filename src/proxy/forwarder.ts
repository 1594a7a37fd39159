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
  /**
   * The upstream's answer head as the client may see it (the header policy towards the client):
   * `switching` for its 101, false for an HTTP answer that refuses the upgrade.
   */
  responseHeaders(upstream: IncomingHttpHeaders, switching: boolean): IncomingHttpHeaders;
}

export class Forwarder {
  readonly #proxy: ProxyServer;
  readonly #agents: UpstreamAgents;
  readonly #logger: Logger | undefined;
  /** Each handshake's response-header policy, while http-proxy-3 forwards it. */
  readonly #answers = new WeakMap<IncomingMessage, UpgradeAttempt['responseHeaders']>();
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
    // http-proxy-3 writes the upstream's 101 (or refusal) head to the client socket as it came,
    // from `proxyRes.headers`. Its own listeners are added after this event, so these run first
    // and put the client-side header policy in place (no gateway cookie set by an upstream).
    // It also pairs the upstream socket with its client socket: 'proxyReqWs' names the client
    // socket, the request's 'upgrade' the upstream one; http-proxy-3 pipes them (and emits
    // 'open') right after, so `onOpen` runs once that pipe exists and before any byte flows.
    this.#proxy.on('proxyReqWs', (proxyReq, req, socket) => {
      const answer = this.#answers.get(req);
      if (answer !== undefined) {
        proxyReq.on('upgrade', (proxyRes: IncomingMessage) => {
          proxyRes.headers = answer(proxyRes.headers, true);
        });
        proxyReq.on('response', (proxyRes: IncomingMessage) => {
          proxyRes.headers = answer(proxyRes.headers, false);
        });
      }
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
    this.#answers.set(req, attempt.responseHeaders);
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
