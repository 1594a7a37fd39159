import type { Context } from 'koa';
import { CorruptRecordError, NotFoundError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { sessionTag } from '../observability/index.ts';
import { currentSession } from './current-session.ts';
import type { AuthDeps } from './deps.ts';
import { revoke } from './logout.ts';
import type { SessionHandles } from './session-handle.ts';

/**
 * POST /auth/sessions/<handle>/logout (behind the CSRF check): ends one session of the logged-in
 * user, named by its handle from GET /auth/sessions. Only the user's own sessions (same provider
 * and subject) are found: another user's handle, a malformed one and an unknown one all answer
 * 404 NOT_FOUND alike. The session leaves the store (`destroySession`, with its token set and
 * index entries) and its tokens are revoked at the provider in the background, as at logout. Its
 * open WebSockets close too (the store's session-end hook, src/proxy/tunnels.ts).
 * Ending the current session this way is a logout: the cookie is cleared.
 *
 * Answer: `{ ended: true, current }`.
 */

export interface EndedSession {
  ended: true;
  current: boolean;
}

type RoutedContext = Context & { state: Partial<GatewayState>; params: Record<string, string> };

export function endListedSessionHandler(deps: AuthDeps, handles: SessionHandles) {
  return async function endListedSession(ctx: RoutedContext): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const { sid, session } = currentSession(ctx, deps);
    const handle = ctx.params['handle'] ?? '';
    // Every sid of the user (not only the listed ones): a handle stays good past the listing cap.
    const sids = new Set([sid, ...(await deps.store.listUserSessions(session.provider, session.sub))]);
    const target = handles.find(handle, sids);
    if (target === undefined) throw new NotFoundError('No such session');

    // A token set that cannot be read has nothing to revoke; the session still ends.
    const tokens = await deps.store.getTokens(target).catch((err: unknown) => {
      if (err instanceof CorruptRecordError) return null;
      throw err;
    });
    const ended = await deps.store.destroySession(target);
    if (ended === null) throw new NotFoundError('No such session');
    revoke(deps, deps.providers.get(ended.provider), target, tokens);
    const current = target === sid;
    if (current) deps.cookies.session.clear(ctx);
    ctx.state.log?.info({ event: 'session_ended_by_user', provider: ended.provider, session: sessionTag(target), current }, 'session ended by its user');
    const body: EndedSession = { ended: true, current };
    ctx.body = body;
  };
}
