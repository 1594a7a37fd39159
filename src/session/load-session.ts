import type { Context, Next } from 'koa';
import type { Logger } from 'pino';
import { GatewayError, StoreUnavailableError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { securityEvent, sessionTag } from '../observability/index.ts';
import type { Store } from '../store/types.ts';
import { isSessionId } from './session-id.ts';
import type { SignedCookie } from './signed-cookie.ts';

/**
 * Cookie → sid → session and token set, in one store round trip (`loadSession` also slides the
 * idle TTL). Leaves `sid`, `sessionTag`, `session` and `tokens` on `ctx.state`, or nothing when
 * there is no session. Writes nothing back on a steady-state request.
 *
 * - No cookie, or an unknown or expired sid: no session (a stale cookie is cleared).
 * - A cookie that is unsigned or whose signature fails: no session, the store is never asked,
 *   the cookie is cleared and a `tampered_cookie` security event is logged.
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
}

type StatefulContext = Context & { state: Partial<GatewayState> };

export function loadSession(options: SessionLoaderOptions) {
  const { cookie, store, idleTimeoutMs, now } = options;

  return async function sessionLoader(ctx: StatefulContext, next: Next): Promise<void> {
    const read = cookie.read(ctx);
    if (read.status === 'forged') {
      securityEvent(ctx.state.log ?? options.logger, 'tampered_cookie', { cookie: cookie.name });
      cookie.clear(ctx);
    } else if (read.status === 'valid') {
      const sid = read.value;
      const bundle = isSessionId(sid) ? await loadBundle(store, sid, idleTimeoutMs) : null;
      const time = now();
      if (bundle === null || bundle.session.sid !== sid || bundle.session.absoluteExpiresAt <= time) {
        cookie.clear(ctx);
      } else {
        ctx.state.sid = sid;
        ctx.state.sessionTag = sessionTag(sid);
        ctx.state.session = bundle.session;
        ctx.state.tokens = bundle.tokens;
        // Rotated signing keys: re-sign with the current key, keeping the cookie's horizon.
        if (read.signedWithOldKey) cookie.write(ctx, sid, bundle.session.absoluteExpiresAt - time);
        ctx.state.log = ctx.state.log?.child({ session: ctx.state.sessionTag });
      }
    }
    await next();
  };
}

async function loadBundle(store: Store, sid: string, idleTimeoutMs: number) {
  try {
    return await store.loadSession(sid, idleTimeoutMs);
  } catch (err) {
    // The contract already rejects with StoreUnavailableError; anything else still must not
    // read as "no session".
    throw err instanceof GatewayError ? err : new StoreUnavailableError(undefined, { cause: err });
  }
}
