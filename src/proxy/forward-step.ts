import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { DpopNonces } from '../dpop/nonces.ts';
import { type BearerToken, refreshOutcomeOf, routeTokenTarget, sendsLinkedToken, type TokenService } from '../tokens/index.ts';
import type { UpstreamDpop } from './dpop-attempt.ts';
import type { ClientSide, ForwardingEngine } from './engine.ts';
import type { HeaderPolicy } from './headers.ts';
import type { ProxiedRequest, ProxiedSession } from './proxied-request.ts';
import { exchangeWithReplay } from './replay.ts';
import type { Reservation, ReplayBudget } from './replay-budget.ts';
import { readRequestBody, type RequestBody } from './request-body.ts';
import type { RequestLog } from './request-log.ts';
import { cacheHeaders } from './cache-headers.ts';
import { RequestTimeoutError } from '../errors.ts';
import { withGatewayHeaders } from './response-head.ts';
import type { ProxyMetrics } from './types.ts';

export interface ForwardStepOptions {
  engine: ForwardingEngine;
  /** Bytes of buffered replay bodies, across all requests. */
  budget: ReplayBudget;
  /** proxy.bodyIdleTimeout. */
  bodyIdleTimeoutMs: number;
  headers: HeaderPolicy;
  tokens: TokenService;
  publicOrigin: URL;
  metrics: ProxyMetrics | undefined;
  /** The upstreams' DPoP nonces by origin (RFC 9449 section 9), shared with WebSocket handshakes. */
  nonces: DpopNonces;
}

/**
 * The last step: buffer the body when it fits the replay limit, send the request upstream
 * (replaying once after a 401), and stream the response to the client with the gateway's
 * headers under the upstream's. Until the upstream answers, failures are thrown to the
 * handler's error answer (JSON 502/504/401/503).
 */
export function forwardStep(options: ForwardStepOptions) {
  const { engine, headers, tokens, publicOrigin, metrics, budget, bodyIdleTimeoutMs, nonces } = options;
  const proto = publicOrigin.protocol.slice(0, -1);
  const host = publicOrigin.host;

  /** The session's DPoP key for this request, when the session has one (sessions without DPoP skip this). */
  async function upstreamDpop(session: ProxiedSession): Promise<UpstreamDpop | undefined> {
    const key = await tokens.dpopKey(session.sid, session.tokens, session.record);
    return key === undefined ? undefined : { key, nonces, sent: undefined };
  }

  async function refreshAfter401(request: ProxiedRequest, session: ProxiedSession, rejectedVer: number): Promise<BearerToken | undefined> {
    const target = routeTokenTarget(request.route.config, session.record.provider);
    const refreshed = target === undefined ? tokens.forceRefresh(session.sid, rejectedVer, { session: session.record }) : tokens.forceRouteRefresh(session.sid, target, rejectedVer, { session: session.record });
    const fresh = await refreshed.catch((err: unknown) => {
      request.refreshOutcome = refreshOutcomeOf(err);
      throw err;
    });
    if (fresh !== undefined) request.refreshOutcome = fresh.outcome;
    return fresh;
  }

  return async function forward(request: ProxiedRequest, log: () => RequestLog): Promise<void> {
    const reservation = budget.reserve();
    try {
      await exchange(request, reservation, log);
    } finally {
      reservation.release();
    }
  };

  async function exchange(request: ProxiedRequest, reservation: Reservation, log: () => RequestLog): Promise<void> {
    const { req, res, route, session } = request;
    const started = performance.now();
    let body: RequestBody;
    try {
      body = await readRequestBody(req, { limit: route.config.replayBodyLimit, idleTimeoutMs: bodyIdleTimeoutMs, reservation });
    } catch (err) {
      // The rest of the body is never read: answer, then close the connection.
      if (err instanceof RequestTimeoutError) {
        res.setHeader('connection', 'close');
        res.once('finish', () => req.destroy());
      }
      throw err;
    }
    if (!body.replayable && body.overBudget) log().debug({ event: 'replay_budget_exhausted' }, 'request body streamed without replay');
    // A linked provider's token is a Bearer token of that provider: no proof with the session's key.
    const dpop = session?.tokens?.dpopKey === undefined || request.bearer === undefined || sendsLinkedToken(route.config, session.record.provider) ? undefined : await upstreamDpop(session);
    const client: ClientSide = {
      req,
      res,
      responseHeaders: (upstream: IncomingHttpHeaders): OutgoingHttpHeaders => withGatewayHeaders(request, cacheHeaders(headers.toClient(upstream), route.cacheMode)),
      onHead: (status) => {
        metrics?.observeUpstream?.(route.name, status, (performance.now() - started) / 1000);
        // The replay is over: the buffered body's bytes go back to the budget before the
        // response streams, which may take long (event streams).
        reservation.release();
      },
    };
    await exchangeWithReplay(engine, client, {
      upstream: route.upstream,
      method: req.method ?? 'GET',
      path: request.upstreamPath,
      headers: headers.toUpstream(req.headers, { clientAddress: req.socket.remoteAddress, proto, host, authorization: undefined, strip: route.stripHeaders }),
      body,
      timeoutMs: route.config.timeout,
      credential: session === undefined || request.bearer === undefined ? undefined : { bearer: request.bearer, refresh: (ver) => refreshAfter401(request, session, ver), dpop },
      onReplay: (result) => metrics?.countReplay?.(route.name, result),
    });
  }
}
