import type { Context } from 'koa';
import { GatewayError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { sessionTag } from '../observability/index.ts';
import { isSessionId } from '../session/session-id.ts';
import type { SessionRecord } from '../store/types.ts';
import type { AuthDeps } from './deps.ts';
import { revoke } from './logout.ts';

/**
 * A re-login ends the browser's previous session: the one recorded in the login transaction
 * (the callback is cross-site and gets no Strict cookie) and the one whose cookie came with the
 * callback, if any. Their tokens are revoked as logout does, except when the previous session is
 * the same user at the same provider: that login may share its grant with the new one (the
 * provider reuses a consented grant, and revoking a refresh token ends its whole grant at most
 * providers and at Google), so its tokens are only forgotten. A store failure here does not
 * undo the login; the old session then expires on its own.
 */
export async function endPreviousSessions(ctx: Context & { state: Partial<GatewayState> }, deps: AuthDeps, current: SessionRecord, candidates: ReadonlyArray<string | undefined>): Promise<void> {
  const sids = new Set(candidates.filter((sid): sid is string => sid !== undefined && sid !== current.sid && isSessionId(sid)));
  for (const sid of sids) {
    try {
      const previous = await deps.store.getSession(sid);
      if (previous === null) continue;
      const tokens = await deps.store.getTokens(sid);
      await deps.store.destroySession(sid);
      const mayShareGrant = previous.provider === current.provider && previous.sub === current.sub;
      if (!mayShareGrant) revoke(deps, deps.providers.get(previous.provider), sid, tokens);
      ctx.state.log?.info({ event: 'previous_session_ended', provider: previous.provider, session: sessionTag(sid), revoked: !mayShareGrant }, 'previous session ended at re-login');
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      ctx.state.log?.warn({ event: 'previous_session_not_ended', session: sessionTag(sid), errorCode: err.code }, 'previous session could not be ended at re-login');
    }
  }
}
