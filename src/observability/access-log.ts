import type { Context, Next } from 'koa';
import type { Bindings, Logger } from 'pino';
import type { RefreshOutcome } from '../tokens/types.ts';
import type { Metrics } from './metrics.ts';
import { requestIdFrom } from './request-id.ts';
import { originOf } from './scrub.ts';

export interface AccessLogOptions {
  logger: Logger;
  /** Counts `tokengate_http_requests_total`; optional. */
  metrics?: Pick<Metrics, 'countRequest'>;
}

/** What later middleware leaves on `ctx.state` for the access log (see src/http/state.ts). */
export interface AccessLogState {
  requestId?: string;
  log?: Logger;
  routeName?: string;
  upstream?: string;
  sessionTag?: string;
  refreshOutcome?: RefreshOutcome;
}

export const REQUEST_ID_HEADER = 'X-Request-Id';
export const UNMATCHED_ROUTE = 'unmatched';
/** The status logged and counted for a request whose client went away before any answer. */
export const CLIENT_CLOSED_REQUEST = 499;

/**
 * The first middleware after the error handler. It names the request (`X-Request-Id` from the
 * client when sane, else a random UUID) on the response and on `ctx.state.requestId`, binds
 * `ctx.state.log` (a child logger carrying the request id; add bindings with bindRequestLog),
 * and writes ONE line when the response is done: request id, method, route label, status,
 * duration, and where set, the upstream origin, the session tag and the refresh outcome.
 * Never the URL, its query or any header.
 *
 * The line is written when `res` emits 'finish' (or 'close' first, when the client went away),
 * so the status is the one actually sent: Koa's own response, the error handler's, or a proxied
 * upstream's when `ctx.respond = false`. A client that went away before any response head was
 * sent is status 499 with `aborted: true`, in the line and in the request counter.
 *
 * Accepts a plain logger as shorthand for `{ logger }`.
 */
export function accessLog(options: AccessLogOptions | Logger) {
  const { logger, metrics } = isLogger(options) ? { logger: options, metrics: undefined } : options;

  return async function logAccess(ctx: Context & { state: AccessLogState }, next: Next): Promise<void> {
    const started = performance.now();
    const requestId = requestIdFrom(ctx.get(REQUEST_ID_HEADER) || undefined);
    ctx.state.requestId = requestId;
    provideRequestLog(ctx.state, logger, { requestId });
    ctx.set(REQUEST_ID_HEADER, requestId);

    const { res } = ctx;
    let written = false;
    const done = (): void => {
      if (written) return;
      written = true;
      res.off('finish', done);
      res.off('close', done);
      const { routeName, upstream, sessionTag, refreshOutcome } = ctx.state;
      writeAccessLine(logger, metrics, {
        requestId,
        method: ctx.method,
        route: routeName,
        status: res.statusCode,
        elapsedMs: performance.now() - started,
        upstream,
        session: sessionTag,
        refreshOutcome,
        aborted: !res.writableFinished,
        headersSent: res.headersSent,
      });
    };
    res.once('finish', done);
    res.once('close', done);
    await next();
  };
}

const REQUEST_LOG = Symbol('tokengate.requestLog');

interface RequestLog {
  root: Logger;
  bindings: Bindings;
  /** The child made from `root` with `bindings`, as long as it is still `state.log`. */
  child: Logger;
}

type RequestLogState = AccessLogState & { [REQUEST_LOG]?: RequestLog };

/**
 * Request loggers are children of the root logger, never children of children: a pino child
 * is an object whose prototype is its parent, and a per-request logger made the prototype of
 * another makes V8 rebuild its shape for every request, and logging through a grandchild is
 * slower too.
 */
function provideRequestLog(state: RequestLogState, root: Logger, bindings: Bindings): void {
  const child = root.child(bindings);
  state[REQUEST_LOG] = { root, bindings, child };
  state.log = child;
}

/**
 * Adds bindings to the request's logger (`ctx.state.log`): the same lines as
 * `state.log = state.log.child(bindings)`, made as a child of the root logger.
 */
export function bindRequestLog(state: AccessLogState, bindings: Bindings): void {
  const requestLog = (state as RequestLogState)[REQUEST_LOG];
  if (requestLog === undefined || state.log !== requestLog.child) {
    if (state.log !== undefined) state.log = state.log.child(bindings);
    return;
  }
  requestLog.bindings = { ...requestLog.bindings, ...bindings };
  requestLog.child = requestLog.root.child(requestLog.bindings);
  state.log = requestLog.child;
}

/** What one finished request's access line says. */
export interface AccessFacts {
  requestId: string;
  method: string;
  /** The route label; undefined is `unmatched`. */
  route: string | undefined;
  status: number;
  elapsedMs: number;
  /** The upstream's origin (or a URL, reduced to its origin). */
  upstream: string | undefined;
  /** The session tag. */
  session: string | undefined;
  refreshOutcome: RefreshOutcome | undefined;
  /** The client went away before the response was complete. */
  aborted: boolean;
  /** The response head went out (an aborted request without one is logged as 499). */
  headersSent: boolean;
}

/**
 * The one access line of a request and its `tokengate_http_requests_total` count, for the Koa
 * middleware above and the proxied-route handler alike: the root logger with the request id in
 * the line (no child logger), at warn for a 5xx.
 */
export function writeAccessLine(logger: Logger, metrics: Pick<Metrics, 'countRequest'> | undefined, facts: AccessFacts): void {
  const route = facts.route ?? UNMATCHED_ROUTE;
  // Nothing was answered: 499 (client closed request), not the status a response starts with.
  const status = facts.aborted && !facts.headersSent ? CLIENT_CLOSED_REQUEST : facts.status;
  metrics?.countRequest(route, facts.method, status);
  const line: Record<string, unknown> = {
    requestId: facts.requestId,
    method: facts.method,
    route,
    status,
    durationMs: Math.round(facts.elapsedMs * 10) / 10,
  };
  if (facts.upstream !== undefined) line.upstream = originOf(facts.upstream);
  if (facts.session !== undefined) line.session = facts.session;
  if (facts.refreshOutcome !== undefined) line.refreshOutcome = facts.refreshOutcome;
  if (facts.aborted) line.aborted = true;
  if (status >= 500) logger.warn(line, 'request');
  else logger.info(line, 'request');
}

function isLogger(value: AccessLogOptions | Logger): value is Logger {
  return typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}
