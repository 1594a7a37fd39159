import type { Context } from 'koa';
import { NoSessionError, ReauthenticationRequiredError, SessionExpiredError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { idleExpiry } from '../session/lifetime.ts';
import type { AuthDeps } from './deps.ts';

/**
 * GET /auth/session: who is logged in, never a token. Without a session cookie at all (a first
 * visit): 401 JSON NO_SESSION; with a cookie whose session ended (expired, logged out, unknown,
 * forged): 401 SESSION_EXPIRED. An API route never redirects to a login page. A session whose token set is
 * gone (cleared after a revoked grant or a reuse incident): 401 REAUTHENTICATION_REQUIRED.
 * `expiresAt` is when the session ends if it stays idle (never after its absolute expiry).
 */

export interface SessionInfo {
  authenticated: true;
  user: { sub: string; name?: string; email?: string; picture?: string; provider: string };
  expiresAt: string;
}

export function sessionInfoHandler(deps: Pick<AuthDeps, 'config' | 'cookies' | 'now'>) {
  return async function sessionInfo(ctx: Context & { state: Partial<GatewayState> }): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const session = ctx.state.session;
    if (!session) {
      // The session loader already cleared a stale cookie on this response; the request tells.
      throw deps.cookies.session.read(ctx).status === 'absent' ? new NoSessionError() : new SessionExpiredError();
    }
    if (!ctx.state.tokens) throw new ReauthenticationRequiredError();
    const body: SessionInfo = {
      authenticated: true,
      user: { sub: session.sub, ...session.claims, provider: session.provider },
      expiresAt: new Date(idleExpiry(session, deps.now(), deps.config.session.idleTimeout)).toISOString(),
    };
    ctx.body = body;
  };
}
