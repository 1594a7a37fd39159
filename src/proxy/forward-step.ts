import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { type BearerToken, failureOutcome, type TokenService } from '../tokens/index.ts';
import type { ClientSide, ForwardingEngine } from './engine.ts';
import type { HeaderPolicy } from './headers.ts';
import type { ProxiedRequest, ProxiedSession } from './proxied-request.ts';
import { exchangeWithReplay } from './replay.ts';
import { readRequestBody } from './request-body.ts';
import { withGatewayHeaders } from './response-head.ts';
import type { ProxyMetrics } from './types.ts';

export interface ForwardStepOptions {
  engine: ForwardingEngine;
  headers: HeaderPolicy;
  tokens: TokenService;
  publicOrigin: URL;
  metrics: ProxyMetrics | undefined;
}

/**
 * The last step: buffer the body when it fits the replay limit, send the request upstream
 * (replaying once after a 401), and stream the response to the client with the gateway's
 * headers under the upstream's. Until the upstream answers, failures are thrown to the
 * handler's error answer (JSON 502/504/401/503).
 */
export function forwardStep(options: ForwardStepOptions) {
  const { engine, headers, tokens, publicOrigin, metrics } = options;
  const proto = publicOrigin.protocol.slice(0, -1);
  const host = publicOrigin.host;

  async function refreshAfter401(request: ProxiedRequest, session: ProxiedSession, rejectedVer: number): Promise<BearerToken> {
    try {
      const fresh = await tokens.forceRefresh(session.sid, rejectedVer, { session: session.record });
      request.refreshOutcome = fresh.outcome;
      return fresh;
    } catch (err) {
      request.refreshOutcome = failureOutcome(err);
      throw err;
    }
  }

  return async function forward(request: ProxiedRequest): Promise<void> {
    const { req, route, session } = request;
    const started = performance.now();
    const body = await readRequestBody(req, route.config.replayBodyLimit);
    const client: ClientSide = {
      req,
      res: request.res,
      responseHeaders: (upstream: IncomingHttpHeaders): OutgoingHttpHeaders => withGatewayHeaders(request, headers.toClient(upstream)),
      onHead: (status) => metrics?.observeUpstream?.(route.name, status, (performance.now() - started) / 1000),
    };
    await exchangeWithReplay(engine, client, {
      upstream: route.upstream,
      method: req.method ?? 'GET',
      path: request.upstreamPath,
      headers: headers.toUpstream(req.headers, { clientAddress: req.socket.remoteAddress, proto, host, authorization: undefined }),
      body,
      timeoutMs: route.config.timeout,
      credential: session === undefined || request.bearer === undefined ? undefined : { bearer: request.bearer, refresh: (ver) => refreshAfter401(request, session, ver) },
      onReplay: (result) => metrics?.countReplay?.(route.name, result),
    });
  };
}
