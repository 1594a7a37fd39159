import type { Context } from 'koa';
import type { GatewayState } from '../http/state.ts';
import { idleExpiry } from '../session/lifetime.ts';
import { currentSession } from './current-session.ts';
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
    const { session } = currentSession(ctx, deps);
    const body: SessionInfo = {
      authenticated: true,
      user: { sub: session.sub, ...session.claims, provider: session.provider },
      expiresAt: new Date(idleExpiry(session, deps.now(), deps.config.session.idleTimeout)).toISOString(),
    };
    ctx.body = body;
  };
}
