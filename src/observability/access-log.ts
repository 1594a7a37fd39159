import type { Context, Next } from 'koa';
import type { Bindings, Logger } from 'pino';
import type { Metrics } from './metrics.ts';
import { requestIdFrom } from './request-id.ts';
import { safeUrl } from './scrub.ts';

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
  refreshOutcome?: string;
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
      const aborted = !res.writableFinished;
      // Nothing was answered: 499 (client closed request), not the 404 Koa starts every response with.
      const status = aborted && !res.headersSent ? CLIENT_CLOSED_REQUEST : res.statusCode;
      const line = accessLine(ctx, status, performance.now() - started, aborted);
      metrics?.countRequest(line.route, ctx.method, line.status);
      // The root logger with the request id in the line writes the same JSON as the request's
      // child, and faster (see provideRequestLog).
      if (line.status >= 500) logger.warn({ requestId, ...line }, 'request');
      else logger.info({ requestId, ...line }, 'request');
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
 * another makes V8 rebuild its shape for every request (a child and a grandchild cost ~6 us
 * more per request than two children of the root, and logging through them is slower too).
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

interface AccessLine {
  method: string;
  route: string;
  status: number;
  durationMs: number;
  upstream?: string;
  session?: string;
  refreshOutcome?: string;
  /** The client went away before the response was complete. */
  aborted?: true;
}

function accessLine(ctx: Context & { state: AccessLogState }, status: number, elapsedMs: number, aborted: boolean): AccessLine {
  const { routeName, upstream, sessionTag, refreshOutcome } = ctx.state;
  return {
    method: ctx.method,
    route: routeName ?? UNMATCHED_ROUTE,
    status,
    durationMs: Math.round(elapsedMs * 10) / 10,
    ...(upstream === undefined ? {} : { upstream: originOf(upstream) }),
    ...(sessionTag === undefined ? {} : { session: sessionTag }),
    ...(refreshOutcome === undefined ? {} : { refreshOutcome }),
    ...(aborted ? { aborted: true as const } : {}),
  };
}

/** Already an origin (what the proxy leaves there): no userinfo, path, query or fragment. */
const ORIGIN = /^https?:\/\/[^/?#@\s]+$/i;

function originOf(upstream: string): string {
  if (ORIGIN.test(upstream)) return upstream;
  try {
    return new URL(upstream).origin;
  } catch {
    return safeUrl(upstream);
  }
}

function isLogger(value: AccessLogOptions | Logger): value is Logger {
  return typeof (value as Logger).child === 'function' && typeof (value as Logger).info === 'function';
}
