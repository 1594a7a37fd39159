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

/**
 * The first middleware after the error handler. It names the request (`X-Request-Id` from the
 * client when sane, else a random UUID) on the response and on `ctx.state.requestId`, provides
 * `ctx.state.log` (a child logger carrying the request id, made only when something reads it:
 * most requests log nothing but their access line; add bindings with bindRequestLog), and
 * writes ONE line when the response is done: request id, method, route label, status,
 * duration, and where set, the upstream origin, the session tag and the refresh outcome. Never
 * the URL, its query or any header.
 *
 * The line is written when `res` emits 'finish' (or 'close' first, when the client went away),
 * so the status is the one actually sent: Koa's own response, the error handler's, or a proxied
 * upstream's when `ctx.respond = false`.
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
      const line = accessLine(ctx, res.statusCode, performance.now() - started, !res.writableFinished);
      metrics?.countRequest(line.route, ctx.method, line.status);
      // The root logger with the request id in the line: the same JSON as a child's line.
      if (line.status >= 500) logger.warn({ requestId, ...line }, 'request');
      else logger.info({ requestId, ...line }, 'request');
    };
    res.once('finish', done);
    res.once('close', done);
    await next();
  };
}

const REQUEST_LOG = Symbol('tokengate.requestLog');

/** A request's child logger, made the first time it is read (pino's child() is not free). */
class RequestLog {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  #logger: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  get logger(): Logger {
    this.#logger ??= this.#parent.child(this.#bindings);
    return this.#logger;
  }

  set logger(logger: Logger) {
    this.#logger = logger;
  }

  bind(bindings: Bindings): void {
    if (this.#logger === undefined) Object.assign(this.#bindings, bindings);
    else this.#logger = this.#logger.child(bindings);
  }
}

type LogHolder = AccessLogState & { [REQUEST_LOG]?: RequestLog };

function provideRequestLog(state: LogHolder, parent: Logger, bindings: Bindings): void {
  const requestLog = new RequestLog(parent, bindings);
  state[REQUEST_LOG] = requestLog;
  Object.defineProperty(state, 'log', {
    get: () => requestLog.logger,
    set: (logger: Logger) => {
      requestLog.logger = logger;
    },
    enumerable: true,
    configurable: true,
  });
}

/**
 * Adds bindings to the request's logger (`ctx.state.log`) without making it before anything
 * logs; the same as `state.log = state.log.child(bindings)` in what gets written.
 */
export function bindRequestLog(state: AccessLogState, bindings: Bindings): void {
  const requestLog = (state as LogHolder)[REQUEST_LOG];
  if (requestLog !== undefined) requestLog.bind(bindings);
  else if (state.log !== undefined) state.log = state.log.child(bindings);
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
