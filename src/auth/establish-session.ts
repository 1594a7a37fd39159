import type { Context } from 'koa';
import type { GatewayState } from '../http/state.ts';
import type { Provider, ProviderTokens, UserProfile } from '../providers/types.ts';
import { absoluteExpiry, sessionTtl } from '../session/lifetime.ts';
import { newSessionId } from '../session/session-id.ts';
import { sessionTag } from '../observability/index.ts';
import type { SessionRecord } from '../store/types.ts';
import { sealDpopKey } from '../dpop/sealed-key.ts';
import { sealTokenSet } from '../tokens/token-set.ts';
import type { AuthDeps } from './deps.ts';
import { deviceLabel } from './device-label.ts';

/**
 * The end of a successful login: a brand-new sid (never one the browser had before: no session
 * fixation), the tokens sealed under it, the session and token set written in one
 * `createSession` (with the session's DPoP private key, sealed like them, when the provider binds
 * tokens to one), the session cookie set. The sessions this browser held before are ended by
 * the caller (endPreviousSessions).
 */
export async function establishSession(
  ctx: Context & { state: Partial<GatewayState> },
  deps: AuthDeps,
  provider: Provider,
  tokens: ProviderTokens,
  profile: UserProfile,
  dpopPrivateJwk?: string,
  grantResources?: readonly string[],
): Promise<SessionRecord> {
  const now = deps.now();
  const sid = newSessionId();
  const session: SessionRecord = {
    sid,
    provider: provider.id,
    sub: profile.sub,
    claims: displayClaims(profile),
    ...(profile.providerSid === undefined ? {} : { providerSid: profile.providerSid }),
    createdAt: now,
    // The label only, never the header: what GET /auth/sessions shows, with nothing to do per request.
    device: deviceLabel(ctx.get('user-agent')),
    absoluteExpiresAt: absoluteExpiry({
      now,
      absoluteTimeoutMs: deps.config.session.absoluteTimeout,
      refreshTokenExpiresIn: tokens.refreshTokenExpiresIn,
      hasRefreshToken: tokens.refreshToken !== undefined,
      accessTokenExpiresIn: tokens.expiresIn,
    }),
  };
  const sealed = sealTokenSet(deps.keyring, sid, tokens, now);
  if (dpopPrivateJwk !== undefined) sealed.dpopKey = sealDpopKey(deps.keyring, sid, dpopPrivateJwk);
  if (grantResources !== undefined) sealed.grantResources = [...grantResources];
  await deps.store.createSession(session, sealed, sessionTtl(session, now, deps.config.session.idleTimeout));

  deps.cookies.session.write(ctx, sid, session.absoluteExpiresAt - now);
  rememberConsentNeed(ctx, deps, provider, tokens);
  ctx.state.sid = sid;
  ctx.state.sessionTag = sessionTag(sid);
  ctx.state.session = session;
  return session;
}

function displayClaims(profile: UserProfile): SessionRecord['claims'] {
  return {
    ...(profile.name === undefined ? {} : { name: profile.name }),
    ...(profile.email === undefined ? {} : { email: profile.email }),
    ...(profile.picture === undefined ? {} : { picture: profile.picture }),
  };
}

/** Days the Google consent hint lasts in the browser. */
const CONSENT_HINT_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Google returns a refresh token only when the user consents. A Google login that came back
 * without one marks the browser, and the next login through that provider asks for consent
 * (`prompt=consent`); a login that brings a refresh token removes the mark.
 */
function rememberConsentNeed(ctx: Context, deps: AuthDeps, provider: Provider, tokens: ProviderTokens): void {
  if (provider.type !== 'google') return;
  if (tokens.refreshToken === undefined) deps.cookies.consent.write(ctx, provider.id, CONSENT_HINT_MS);
  else if (deps.cookies.consent.read(ctx).status !== 'absent') deps.cookies.consent.clear(ctx);
}
