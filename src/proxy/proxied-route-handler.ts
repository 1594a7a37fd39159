import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { CsrfRejectedError } from '../errors.ts';
import { csrfRejection, type CsrfPolicy } from '../http/csrf.ts';
import { requestIdFrom, securityEvent, writeAccessLine, type Metrics } from '../observability/index.ts';
import { canonicalRedirector, type CanonicalOriginOptions } from '../http/canonical-origin.ts';
import { answerError } from './answer-error.ts';
import { answerRedirect } from './answer-redirect.ts';
import { proxiedRequest, type ProxiedRequest } from './proxied-request.ts';
import { requestLog, type RequestLog } from './request-log.ts';
import type { RouteTable } from './route-table.ts';

/**
 * Route first, Koa second. A request for a proxied route is served here, without a Koa context,
 * router or middleware chain, in these steps, each a function of the typed ProxiedRequest:
 *
 *   match route    the route table; no route (or a path it rejects) → not ours: Koa answers
 *   canonical host a person's page navigation on another host → 308 to the public origin
 *   load session   cookie → session and token set, one store round trip
 *   check CSRF     the route's CSRF rule (the header on every method unless `csrf: unsafe`;
 *                  not for page navigations on `page` routes) and an allowed Origin, else 403
 *   authorize      the route's auth policy; the session's token from TokenService (or, for a
 *                  page navigation without a session on a `login` route, 302 to the login)
 *   forward        header policy, body buffering, upstream exchange, replay once on 401,
 *                  stream back with the gateway's headers
 *
 * and, whatever happens, one error answer (JSON with a code, as the Koa error middleware) and
 * one access line with the request metrics when the response is done. Paths the gateway serves
 * itself (`/auth/*`, the forward-auth verify path) are never matched here.
 */

export interface ProxiedRouteSteps {
  loadSession(request: ProxiedRequest, log: () => RequestLog): Promise<void>;
  csrf: CsrfPolicy;
  /** The public origin for people's page navigations (308 from another host). */
  canonical: CanonicalOriginOptions;
  /** Resolves with a login URL to redirect to instead, or undefined once authorized. */
  authorize(request: ProxiedRequest): Promise<string | undefined>;
  forward(request: ProxiedRequest, log: () => RequestLog): Promise<void>;
}

export interface ProxiedRouteHandlerOptions {
  table: RouteTable;
  /** Request targets (`/path?query`) the Koa app serves even when a route's prefix covers them. */
  gatewayOwnsTarget(target: string): boolean;
  steps: ProxiedRouteSteps;
  logger: Logger;
  metrics: Pick<Metrics, 'countRequest'> | undefined;
}

/** Returns a handler that answers a proxied route and returns true, or returns false at once. */
export function proxiedRouteHandler(options: ProxiedRouteHandlerOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { table, gatewayOwnsTarget, steps, logger, metrics } = options;
  const canonicalRedirect = canonicalRedirector(steps.canonical);

  async function serve(request: ProxiedRequest, log: () => RequestLog): Promise<void> {
    const { method = 'GET', headers, url = '/' } = request.req;
    const canonical = canonicalRedirect({ method, url, headers });
    if (canonical !== undefined) return answerRedirect(request, 308, canonical);
    await steps.loadSession(request, log);
    const reason = csrfRejection(steps.csrf, request.route.csrf, { method, headers });
    if (reason !== undefined) {
      securityEvent(log(), 'csrf_rejected', { reason, method });
      throw new CsrfRejectedError();
    }
    const login = await steps.authorize(request);
    if (login !== undefined) return answerRedirect(request, 302, login);
    await steps.forward(request, log);
  }

  function logAccess(request: ProxiedRequest): void {
    const { res } = request;
    writeAccessLine(logger, metrics, {
      requestId: request.requestId,
      method: request.req.method ?? 'GET',
      route: request.route.name,
      status: res.statusCode,
      elapsedMs: performance.now() - request.started,
      upstream: request.route.upstream.origin,
      session: request.session?.tag,
      refreshOutcome: request.refreshOutcome,
      aborted: !res.writableFinished,
      headersSent: res.headersSent,
    });
  }

  return function handleProxiedRoute(req, res) {
    const url = req.url ?? '/';
    if (gatewayOwnsTarget(url)) return false;
    const started = performance.now();
    let match;
    try {
      match = table.match(url);
    } catch {
      // A path the route table rejects (dot segments): the Koa app answers the same 400.
      return false;
    }
    if (match === undefined) return false;
    const header = req.headers['x-request-id'];
    const request = proxiedRequest(req, res, match, requestIdFrom(typeof header === 'string' && header !== '' ? header : undefined), started);
    const log = () => requestLog(logger, request);
    res.once('close', () => logAccess(request));
    serve(request, log).catch((err: unknown) => answerError(request, err, log));
    return true;
  };
}
