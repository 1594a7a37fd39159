import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import type { GatewayState } from '../http/state.ts';
import { bindRequestLog, securityEvent, sessionTag } from '../observability/index.ts';
import type { Store } from '../store/types.ts';
import { lookupSession, reportCorruptSession } from './lookup-session.ts';
import type { SignedCookie } from './signed-cookie.ts';

/**
 * Cookie → sid → session and token set, in one store round trip (lookupSession). Leaves `sid`,
 * `sessionTag`, `session` and `tokens` on `ctx.state`, or nothing when there is no session.
 * Writes nothing back on a steady-state request.
 *
 * - No cookie, or an unknown or expired sid: no session (a stale cookie is cleared).
 * - A cookie that is unsigned or whose signature fails: no session, the store is never asked,
 *   the cookie is cleared and a `tampered_cookie` security event is logged.
 * - A session record or token set that cannot be read: the session is ended, the cookie cleared
 *   and a `session_data_corrupt` security event logged; the request goes on without a session
 *   (401 where one is required).
 * - The store failing: 503 STORE_UNAVAILABLE. Never "logged out" (invariant 5).
 *
 * Why not koa-session: its external-store mode fits only as a reader here. Its write path
 * (the store's `set`, called at the end of a request) is exactly the write-back invariant 3
 * forbids, and has nothing legitimate to write: a login must know the new sid before sealing
 * the tokens under it and write both in one `createSession`, while koa-session draws the id
 * (`genid`) only when it commits, after the handler. Its cookie read cannot tell a missing
 * cookie from a forged one (no `tampered_cookie` event) and writes its own `.sig` headers
 * without Secure/SameSite, which `__Host-` forbids; it also draws a random id for every
 * cookieless request. Koa's own signed-cookie format (keygrip, sha256, rotation) is kept.
 */

export interface SessionLoaderOptions {
  cookie: SignedCookie;
  store: Store;
  idleTimeoutMs: number;
  now: () => number;
  /** Used when the access log has not put a request logger on ctx.state. */
  logger: Logger;
  /**
   * The route label of a request, known before routing runs: a request that fails while its
   * session loads (503 STORE_UNAVAILABLE) is still logged and counted under its route.
   */
  routeLabel?: (ctx: Context) => string | undefined;
}

type StatefulContext = Context & { state: Partial<GatewayState> };

export function loadSession(options: SessionLoaderOptions) {
  const { cookie } = options;

  return async function sessionLoader(ctx: StatefulContext, next: Next): Promise<void> {
    let found;
    try {
      found = await lookupSession(cookie.read(ctx), options);
    } catch (err) {
      ctx.state.routeName ??= options.routeLabel?.(ctx);
      throw err;
    }
    if (found.status === 'forged') {
      securityEvent(ctx.state.log ?? options.logger, 'tampered_cookie', { cookie: cookie.name });
      cookie.clear(ctx);
    } else if (found.status === 'ended') {
      cookie.clear(ctx);
    } else if (found.status === 'corrupt') {
      reportCorruptSession(ctx.state.log ?? options.logger, found.sid);
      cookie.clear(ctx);
    } else if (found.status === 'loaded') {
      ctx.state.sid = found.sid;
      ctx.state.sessionTag = sessionTag(found.sid);
      ctx.state.session = found.session;
      ctx.state.tokens = found.tokens;
      // Rotated signing keys: re-sign with the current key, keeping the cookie's horizon.
      if (found.signedWithOldKey) cookie.write(ctx, found.sid, found.session.absoluteExpiresAt - options.now());
      bindRequestLog(ctx.state, { session: ctx.state.sessionTag });
    }
    await next();
  };
}
