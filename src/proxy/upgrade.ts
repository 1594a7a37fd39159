import { type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { CsrfRejectedError, GatewayError, NotFoundError, TooManyWebSocketsError } from '../errors.ts';
import { errorAnswer } from '../http/error-handler.ts';
import { sendsLinkedToken, type TokenService } from '../tokens/index.ts';
import type { DpopNonces } from '../dpop/nonces.ts';
import { bearerFor, type RequestSession } from './attach-token.ts';
import { dpopHeaders } from './dpop-attempt.ts';
import type { Forwarder } from './forwarder.ts';
import type { HeaderPolicy } from './headers.ts';
import type { RouteTable } from './route-table.ts';
import { cacheHeaders } from './cache-headers.ts';
import { SESSION_ENDED, TOKEN_EXPIRED, type Tunnels } from './tunnels.ts';

/**
 * WebSocket handshakes on proxied routes get what HTTP requests get: the route table (404 for
 * no route, a route with `websocket: false`, or a path the gateway owns such as `/auth/*`), an allowed `Origin` when the browser sends one
 * (cross-site WebSocket hijacking), the session check and token (refreshed first when due), the
 * same header policy with the bearer added and the gateway's cookies removed; the upstream's
 * answer (its 101, or its refusal) reaches the client under the header policy of HTTP responses
 * (no `Set-Cookie` for the gateway's cookies; a refusal's caching made private). A refusal is a
 * plain HTTP response with the JSON error body, then the socket is closed.
 *
 * An open tunnel of a session is registered in `tunnels` and ends with its session (see
 * tunnels.ts); its deadline is the session's absolute expiry, or, on a route with
 * `websocket: { maxTokenAge }`, the earlier of its access token's expiry and `maxTokenAge`
 * after the handshake.
 */

/** Reads the session of a handshake request (no Koa context exists for upgrades): session/sessionFromRequest. */
export type UpgradeSessionReader = (req: IncomingMessage) => Promise<RequestSession | null>;

export interface UpgradeOptions {
  table: RouteTable;
  /** Request targets the Koa app serves even under a route's prefix (`/auth/*`, the verify path): 404 here. */
  gatewayOwnsTarget(target: string): boolean;
  headers: HeaderPolicy;
  tokens: TokenService;
  forwarder: Forwarder;
  publicOrigin: URL;
  allowedOrigins: ReadonlySet<string>;
  sessions: UpgradeSessionReader | undefined;
  logger: Logger | undefined;
  /** Client sockets of handshakes and open tunnels, so shutdown can end them. */
  sockets: Set<Socket>;
  /** proxy.maxWebSocketsPerSession. */
  maxPerSession: number;
  /** The open tunnels by session, which close when their session ends. */
  tunnels: Tunnels;
  /** The upstreams' DPoP nonces by origin, shared with proxied HTTP requests. */
  nonces: DpopNonces;
  now: () => number;
}

export function upgradeHandler(options: UpgradeOptions) {
  const { table, gatewayOwnsTarget, headers, tokens, forwarder, publicOrigin, allowedOrigins, sessions, logger, sockets, maxPerSession, tunnels, nonces, now } = options;
  const perSession = new SessionCounter(maxPerSession);
  const proto = publicOrigin.protocol.slice(0, -1);
  const host = publicOrigin.host;

  async function authorize(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const url = req.url ?? '/';
    if (gatewayOwnsTarget(url)) throw new NotFoundError();
    const match = table.match(url);
    if (match === undefined || !match.route.config.websocket) throw new NotFoundError();
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) throw new CsrfRejectedError();
    const session = match.route.config.auth === 'public' || sessions === undefined ? null : await sessions(req);
    const bearer = await bearerFor(match.route.config, session ?? {}, tokens);
    // A DPoP session's handshake carries a proof for the upstream's GET, as HTTP requests do.
    // A linked provider's token is a Bearer token of that provider: no proof with the session's key.
    const linked = session?.session !== undefined && sendsLinkedToken(match.route.config, session.session.provider);
    const dpopKey = bearer === undefined || session?.sid === undefined || linked ? undefined : await tokens.dpopKey(session.sid, session.tokens, session.session);
    const dpop = dpopKey === undefined ? undefined : await dpopHeaders(bearer!, { key: dpopKey, nonces }, 'GET', match.route.upstream, match.upstreamPath);
    if (socket.destroyed) return;
    const sid = session?.sid;
    if (sid !== undefined) {
      if (!perSession.take(sid)) throw new TooManyWebSocketsError();
      // The client's FIN ends the WebSocket for it, even while the tunnel half-closes.
      let counted = true;
      const give = () => {
        if (counted) perSession.give(sid);
        counted = false;
      };
      socket.once('end', give);
      socket.once('close', give);
    }
    const websocket = match.route.config.websocket;
    let deadline: { at: number; reason: string } | undefined;
    if (session?.session !== undefined) deadline = { at: session.session.absoluteExpiresAt, reason: SESSION_ENDED };
    if (typeof websocket === 'object' && bearer !== undefined) {
      const tokenEnd = Math.min(bearer.expiresAt ?? Infinity, websocket.maxTokenAge > 0 ? now() + websocket.maxTokenAge : Infinity);
      if (tokenEnd < (deadline?.at ?? Infinity)) deadline = { at: tokenEnd, reason: TOKEN_EXPIRED };
    }
    const onOpen = sid === undefined ? undefined : (upstream: Socket) => void tunnels.open(sid, socket, upstream, deadline);
    const upstreamHeaders = headers.toUpstream(req.headers, {
      clientAddress: req.socket.remoteAddress,
      proto,
      host,
      authorization: dpop?.authorization ?? bearer?.authorization,
      upgrade: true,
      strip: match.route.stripHeaders,
    });
    if (dpop !== undefined) upstreamHeaders.dpop = dpop.dpop;
    forwarder.upgrade(req, socket, head, {
      upstream: match.route.upstream,
      path: dpop?.path ?? match.upstreamPath,
      headers: upstreamHeaders,
      // The answer gets the policy of HTTP responses: no gateway cookie set by the upstream, and
      // a refusal on a route that carries a session is kept out of shared caches.
      responseHeaders: (upstream, switching) => {
        // A refused handshake is not resent (its client would get two answers), but the
        // upstream's nonce is kept for the next proof to it, a handshake's or a request's.
        if (dpop !== undefined) nonces.remember(match.route.upstream.origin, upstream['dpop-nonce']);
        return (switching ? headers.toClientSwitching(upstream) : cacheHeaders(headers.toClient(upstream), match.route.cacheMode)) as IncomingHttpHeaders;
      },
    }, onOpen);
  }

  return function handleUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    authorize(req, socket, head).catch((err: unknown) => {
      if (!(err instanceof GatewayError && err.expose)) logger?.error({ event: 'websocket_handshake_failed', err }, 'WebSocket handshake failed');
      refuse(socket, err);
    });
  };
}

/** Writes `HTTP/1.1 <status>` with the JSON error body and closes the socket. */
export function refuse(socket: Socket, err: unknown): void {
  if (socket.destroyed) return;
  const answer = errorAnswer(err, undefined);
  const body = JSON.stringify(answer.body);
  const lines = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? 'Error'}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...Object.entries(answer.headers).map(([name, value]) => `${name}: ${value}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`, () => socket.destroy());
}

/**
 * Open WebSockets (and handshakes being forwarded) per session id, in this process. The cap
 * answers 429 TOO_MANY_WEBSOCKETS; a tunnel's slot comes back when its client socket closes.
 */
export class SessionCounter {
  readonly #max: number;
  readonly #open = new Map<string, number>();

  constructor(max: number) {
    this.#max = max;
  }

  take(sid: string): boolean {
    const open = this.#open.get(sid) ?? 0;
    if (open >= this.#max) return false;
    this.#open.set(sid, open + 1);
    return true;
  }

  give(sid: string): void {
    const open = (this.#open.get(sid) ?? 1) - 1;
    if (open <= 0) this.#open.delete(sid);
    else this.#open.set(sid, open);
  }
}
