import type { Context } from 'koa';
import { failureOutcome, type TokenService } from '../tokens/index.ts';
import { cacheHeaders, routeCacheMode } from './cache-headers.ts';
import type { Forwarder } from './forwarder.ts';
import type { HeaderPolicy } from './headers.ts';
import { exchangeWithReplay } from './replay.ts';
import { RequestTimeoutError } from '../errors.ts';
import type { Reservation, ReplayBudget } from './replay-budget.ts';
import { readRequestBody, type RequestBody } from './request-body.ts';
import { streamToClient } from './respond.ts';
import type { ProxyMetrics, ProxyState } from './types.ts';

export interface ForwardStepOptions {
  forwarder: Forwarder;
  /** Bytes of buffered replay bodies, across all requests. */
  budget: ReplayBudget;
  /** proxy.bodyIdleTimeout. */
  bodyIdleTimeoutMs: number;
  headers: HeaderPolicy;
  tokens: TokenService;
  publicOrigin: URL;
  metrics: ProxyMetrics | undefined;
}

/**
 * The last step: buffer the body when it fits the replay limit, send the request upstream
 * (replaying once after a 401), then hand the response to the client as a stream. Until the
 * upstream answers, failures are thrown to the error middleware (JSON 502/504/401/503); from
 * the moment the response head is written, Koa steps aside (`ctx.respond = false`).
 */
export function forwardRequest(options: ForwardStepOptions) {
  const { forwarder, headers, tokens, publicOrigin, metrics, budget, bodyIdleTimeoutMs } = options;
  const proto = publicOrigin.protocol.slice(0, -1);

  return async function forwardUpstream(ctx: Context & { state: ProxyState }): Promise<void> {
    const reservation = budget.reserve();
    try {
      await exchange(ctx, reservation);
    } finally {
      reservation.release();
    }
  };

  async function exchange(ctx: Context & { state: ProxyState }, reservation: Reservation): Promise<void> {
    const { route, upstreamPath } = ctx.state.match!;
    const bearer = ctx.state.bearer;
    const started = performance.now();
    let body: RequestBody | undefined;
    try {
      body = await readRequestBody(ctx.req, { limit: route.config.replayBodyLimit, idleTimeoutMs: bodyIdleTimeoutMs, reservation });
    } catch (err) {
      // The rest of the body is never read: answer, then close the connection.
      if (err instanceof RequestTimeoutError) {
        ctx.set('Connection', 'close');
        ctx.res.once('finish', () => ctx.req.destroy());
      }
      throw err;
    }
    if (!body.replayable && body.overBudget) ctx.state.log?.debug({ event: 'replay_budget_exhausted' }, 'request body streamed without replay');
    const upstreamHeaders = headers.toUpstream(ctx.req.headers, {
      clientAddress: ctx.req.socket.remoteAddress,
      proto,
      host: publicOrigin.host,
      authorization: undefined,
      strip: route.stripHeaders,
    });
    let response;
    try {
      response = await exchangeWithReplay(forwarder, ctx.req, ctx.res, {
        upstream: route.upstream,
        path: upstreamPath,
        headers: upstreamHeaders,
        body,
        timeoutMs: route.config.timeout,
        bearer,
        refresh: async (rejectedVer) => {
          try {
            const fresh = await tokens.forceRefresh(ctx.state.sid!, rejectedVer, { session: ctx.state.session });
            ctx.state.refreshOutcome = fresh.outcome;
            return fresh;
          } catch (err) {
            ctx.state.refreshOutcome = failureOutcome(err);
            throw err;
          }
        },
        onReplay: (result) => metrics?.countReplay?.(route.name, result),
      });
    } catch (err) {
      if (clientGone(ctx)) {
        ctx.respond = false;
        return;
      }
      throw err;
    }
    metrics?.observeUpstream?.(route.name, response.statusCode ?? 0, (performance.now() - started) / 1000);
    ctx.respond = false;
    // The replay is over: the buffered body's bytes go back to the budget (and to the garbage
    // collector) before the response streams, which may take long (event streams).
    reservation.release();
    body = undefined;
    await streamToClient(ctx.res, response, cacheHeaders(headers.toClient(response.headers), routeCacheMode(route.config)));
  }
}

function clientGone(ctx: Context): boolean {
  return ctx.res.destroyed || ctx.req.socket.destroyed;
}
