import type { Context } from 'koa';
import { DecryptionFailedError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { sessionTag } from '../observability/index.ts';
import type { Provider } from '../providers/types.ts';
import type { StoredTokenSet } from '../store/types.ts';
import type { AuthDeps } from './deps.ts';
import { openRouteTokens } from '../tokens/route-token.ts';
import { openTokenSet } from '../tokens/token-set.ts';
import { sameOriginPath } from './return-to.ts';

/**
 * POST /auth/logout and POST /auth/logout-everywhere (both behind the CSRF check).
 *
 * The session (or, everywhere, every session of the same user at the same provider) leaves the
 * store with its token set and index entries, the cookie is cleared, and the tokens are revoked
 * at the provider in the background (refresh token first, then access token): whatever the
 * provider answers, the user is logged out here. Without a session the answer is the same,
 * so logout is idempotent.
 *
 * Answer: `{ loggedOut: true, endSessionUrl? }`, the URL being the provider's RP-initiated
 * logout for OIDC providers. It carries `client_id`, never `id_token_hint`: the ID token is a
 * token and never goes to the browser.
 */

export interface LogoutAnswer {
  loggedOut: true;
  endSessionUrl?: string;
  /** logout-everywhere: how many sessions ended. */
  sessionsEnded?: number;
}

type StatefulContext = Context & { state: Partial<GatewayState> };

export function logoutHandler(deps: AuthDeps, scope: { everywhere: boolean }) {
  return async function logout(ctx: StatefulContext): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const { sid, session } = ctx.state;
    const answer: LogoutAnswer = { loggedOut: true };
    if (sid !== undefined && session !== undefined) {
      const provider = deps.providers.get(session.provider);
      if (scope.everywhere) {
        answer.sessionsEnded = await endUserSessions(ctx, deps, provider, session.provider, session.sub);
      } else {
        await deps.store.destroySession(sid);
        revoke(deps, provider, sid, ctx.state.tokens ?? null);
      }
      const endSessionUrl = provider ? endSession(ctx, deps, provider) : undefined;
      if (endSessionUrl !== undefined) answer.endSessionUrl = endSessionUrl;
      ctx.state.log?.info({ event: 'logged_out', provider: session.provider, session: ctx.state.sessionTag, everywhere: scope.everywhere }, 'logged out');
    }
    deps.cookies.session.clear(ctx);
    ctx.body = answer;
  };
}

/** Every session of the user: their token sets are read first, so that each can be revoked. */
async function endUserSessions(ctx: StatefulContext, deps: AuthDeps, provider: Provider | undefined, providerId: string, sub: string): Promise<number> {
  const sids = await deps.store.listUserSessions(providerId, sub);
  const tokenSets = await Promise.all(sids.map(async (sid) => [sid, await deps.store.getTokens(sid)] as const));
  const ended = await deps.store.destroyUserSessions(providerId, sub);
  for (const [sid, tokens] of tokenSets) revoke(deps, provider, sid, tokens);
  return new Set([...sids, ...ended]).size;
}

/**
 * Opens the sealed tokens and hands them to the background revoker: the login's, each route's
 * own access token at the same provider, and a linked provider's tokens at that provider.
 */
export function revoke(deps: AuthDeps, provider: Provider | undefined, sid: string, stored: StoredTokenSet | null): void {
  if (!provider || !stored) return;
  try {
    const routeTokens = openRouteTokens(deps.keyring, sid, stored);
    deps.revoker.revokeInBackground(provider, openTokenSet(deps.keyring, sid, stored), { sessionTag: sessionTag(sid) });
    for (const tokens of routeTokens) {
      const at = tokens.provider === undefined ? provider : deps.providers.get(tokens.provider);
      if (at !== undefined) deps.revoker.revokeInBackground(at, tokens, { sessionTag: sessionTag(sid) });
    }
  } catch (err) {
    if (!(err instanceof DecryptionFailedError)) throw err;
    deps.revoker.skipped(provider, 'sealed tokens could not be opened', { sessionTag: sessionTag(sid) });
  }
}

function endSession(ctx: StatefulContext, deps: AuthDeps, provider: Provider): string | undefined {
  const providerConfig = deps.config.providers.find((candidate) => candidate.id === provider.id);
  const configured = providerConfig?.type === 'oidc' ? providerConfig.postLogoutRedirectPath : '/';
  // The same rule as returnTo, on the emitted form (the config check already applied it).
  const path = sameOriginPath(configured, deps.config.publicOrigin) ?? '/';
  try {
    return provider.endSessionUrl(`${deps.config.publicOrigin}${path}`)?.href;
  } catch (err) {
    // Discovery not done (provider down since startup): the logout itself is complete.
    ctx.state.log?.warn({ event: 'no_end_session_url', provider: provider.id, err: errorName(err) }, 'no end-session URL');
    return undefined;
  }
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
