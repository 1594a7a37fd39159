import { securityEvent, sessionTag } from '../observability/index.ts';
import { lookupSession, reportCorruptSession, type LookupDeps } from '../session/lookup-session.ts';
import type { SignedCookie } from '../session/signed-cookie.ts';
import type { ProxiedRequest } from './proxied-request.ts';
import type { RequestLog } from './request-log.ts';

/**
 * Cookie → sid → session and token set, in one store round trip (lookupSession), with the rules
 * of the Koa session loader (src/session/load-session.ts), on a raw request:
 * - no cookie, or an unknown or expired sid: no session (a stale cookie is cleared);
 * - an unsigned or forged cookie: no session, the store is never asked, the cookie is cleared
 *   and a `tampered_cookie` security event is logged;
 * - a session record or token set that cannot be read: the session is ended (by lookupSession),
 *   the cookie cleared and a `session_data_corrupt` security event logged; no session;
 * - the store failing: 503 STORE_UNAVAILABLE, never "logged out" (invariant 5);
 * - a cookie signed with an older key is signed again with the current one.
 * Nothing is written back to the store.
 */

export interface SessionStepOptions extends LookupDeps {
  cookie: SignedCookie;
}

export function sessionStep(options: SessionStepOptions) {
  const { cookie, now } = options;

  return async function loadRequestSession(request: ProxiedRequest, log: () => RequestLog): Promise<void> {
    const found = await lookupSession(cookie.readHeader(request.req.headers.cookie), options);
    if (found.status === 'forged') {
      securityEvent(log(), 'tampered_cookie', { cookie: cookie.name });
      request.setCookies = cookie.clearLines();
    } else if (found.status === 'ended') {
      request.setCookies = cookie.clearLines();
    } else if (found.status === 'corrupt') {
      reportCorruptSession(log(), found.sid);
      request.setCookies = cookie.clearLines();
    } else if (found.status === 'loaded') {
      request.session = { sid: found.sid, tag: sessionTag(found.sid), record: found.session, tokens: found.tokens };
      // Rotated signing keys: re-sign with the current key, keeping the cookie's horizon.
      if (found.signedWithOldKey) request.setCookies = cookie.writeLines(found.sid, found.session.absoluteExpiresAt - now());
    }
  };
}
