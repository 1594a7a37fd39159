import { bodyParser } from '@koa/bodyparser';
import type { Context, Next } from 'koa';
import { BadRequestError, PayloadTooLargeError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { securityEvent } from '../observability/index.ts';
import type { LogoutTokenClaims, Provider } from '../providers/types.ts';
import { providerById, readyProvider, type AuthDeps } from './deps.ts';
import { revoke } from './logout.ts';

/**
 * POST /auth/backchannel-logout/<provider> (OpenID Connect Back-Channel Logout 1.0).
 *
 * The provider posts a form with `logout_token`. The provider module validates it with jose
 * (signature, iss, aud, iat, exp, the back-channel event, sub and/or sid, no nonce); this
 * route refuses a `jti` already used, then ends the matching sessions: those bound to the
 * token's `sid` (and, when both are sent, belonging to its `sub`), or every session of `sub`.
 * Their tokens are revoked in the background. The `jti` is recorded only once every session is
 * ended, so a store failure (503) leaves the provider's retry of the same token working.
 * 200 with `Cache-Control: no-store` and an empty body on success, 400 for anything invalid.
 */

type StatefulContext = Context & { state: Partial<GatewayState>; params: Record<string, string> };

/** Replay guard: a jti is remembered at least this long, and until the token expires. */
const MIN_JTI_MEMORY_MS = 10 * 60 * 1000;
const MAX_LOGOUT_TOKEN_LENGTH = 16 * 1024;
const JTI_NAMESPACE = 'logout-jti';

export function parseLogoutForm() {
  const parse = bodyParser({
    enableTypes: ['form'],
    formLimit: '32kb',
    onError: (err: Error & { status?: number }) => {
      throw err.status === 413 ? new PayloadTooLargeError() : new BadRequestError('Unreadable form body');
    },
  });
  return async function logoutForm(ctx: Context, next: Next): Promise<void> {
    if (!ctx.is('application/x-www-form-urlencoded')) throw new BadRequestError('Expected a form with logout_token');
    await parse(ctx, next);
  };
}

export function backchannelLogoutHandler(deps: AuthDeps) {
  return async function backchannelLogout(ctx: StatefulContext): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    const provider = providerById(deps, ctx.params['provider']);
    if (!provider.oidc) throw new BadRequestError('This provider has no back-channel logout');
    const logoutToken = (ctx.request.body as Record<string, unknown> | undefined)?.['logout_token'];
    if (typeof logoutToken !== 'string' || logoutToken === '' || logoutToken.length > MAX_LOGOUT_TOKEN_LENGTH) {
      throw new BadRequestError('Expected one logout_token');
    }

    const claims = await (await readyProvider(provider)).verifyLogoutToken(logoutToken);
    const jti = `${provider.id}:${claims.jti}`;
    if (await deps.store.isMarked(JTI_NAMESPACE, jti)) {
      securityEvent(ctx.state.log ?? deps.logger, 'logout_token_replayed', { provider: provider.id });
      throw new BadRequestError('logout_token was already used');
    }

    // A store failure from here on answers 503 and records nothing: the provider's retry of
    // the same token is not a replay. Ending a session twice (two deliveries at once) is harmless.
    const sids = await matchingSessions(deps, provider, claims);
    for (const sid of sids) {
      const tokens = await deps.store.getTokens(sid);
      await deps.store.destroySession(sid);
      revoke(deps, provider, sid, tokens);
    }
    const remember = Math.max(MIN_JTI_MEMORY_MS, (claims.exp ?? 0) * 1000 - deps.now() + MIN_JTI_MEMORY_MS);
    await deps.store.markOnce(JTI_NAMESPACE, jti, remember);
    securityEvent(ctx.state.log ?? deps.logger, 'backchannel_logout', { provider: provider.id, sessions: sids.length });
    ctx.status = 200;
    ctx.body = '';
  };
}

async function matchingSessions(deps: AuthDeps, provider: Provider, claims: LogoutTokenClaims): Promise<string[]> {
  if (claims.sid === undefined) return deps.store.listUserSessions(provider.id, claims.sub!);
  const bound = await deps.store.findByProviderSid(provider.id, claims.sid);
  if (claims.sub === undefined) return bound;
  const sessions = await Promise.all(bound.map((sid) => deps.store.getSession(sid)));
  return bound.filter((_, index) => sessions[index]?.sub === claims.sub);
}
