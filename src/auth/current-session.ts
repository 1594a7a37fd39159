import type { Context } from 'koa';
import { NoSessionError, ReauthenticationRequiredError, SessionExpiredError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import type { SessionRecord } from '../store/types.ts';
import type { AuthDeps } from './deps.ts';

/**
 * The request's own session, with the same answers as GET /auth/session when there is none:
 * 401 NO_SESSION without a cookie, 401 SESSION_EXPIRED with a cookie whose session ended, 401
 * REAUTHENTICATION_REQUIRED when its token set is gone.
 */
export function currentSession(ctx: Context & { state: Partial<GatewayState> }, deps: Pick<AuthDeps, 'cookies'>): { sid: string; session: SessionRecord } {
  const { sid, session } = ctx.state;
  if (sid === undefined || session === undefined) {
    // The session loader already cleared a stale cookie on this response; the request tells.
    throw deps.cookies.session.read(ctx).status === 'absent' ? new NoSessionError() : new SessionExpiredError();
  }
  if (!ctx.state.tokens) throw new ReauthenticationRequiredError();
  return { sid, session };
}
