import type { DpopKey } from '../dpop/key.ts';
import { GatewayError, ProviderError, ProviderNotLinkedError, ReauthenticationRequiredError } from '../errors.ts';
import type { Provider, ProviderTokens } from '../providers/types.ts';
import type { Store, StoredRouteToken, StoredTokenSet } from '../store/types.ts';
import type { LockLease } from './lock-lease.ts';
import { callWithLease } from './provider-call.ts';
import type { RefresherOptions } from './refresher.ts';
import { sealLinkedToken, sealRouteToken, type RouteTokenTarget } from './route-token.ts';
import { SEAL_FIELDS, loginVer, openRefreshToken, routeTokenField } from './token-set.ts';

/**
 * The provider call that gives a route its own token, by kind, made while holding the session's
 * refresh lock (RouteTokens decides when, and writes the result):
 * - `resource`: the refresh-token grant with `resource=<uri>` (RFC 8707), spending the login
 *   grant's refresh token (`presented`);
 * - `exchange`: an RFC 8693 token exchange of the login's access token;
 * - `linked`: a linked provider's refresh with its own refresh token.
 */

export interface GrantCall {
  sid: string;
  provider: Provider;
  target: RouteTokenTarget;
  /** The token set as read under the lock. */
  current: StoredTokenSet;
  /** The route's token in it, if any. */
  existing: StoredRouteToken | undefined;
  forced: boolean;
  lease: LockLease;
  /** The session's DPoP key (resource and exchange tokens of a DPoP session are bound to it). */
  dpop: DpopKey | undefined;
}

export interface Granted {
  /** The new entry, sealed, stamped `current.ver + 1`. */
  entry: StoredRouteToken;
  fresh: ProviderTokens;
  /** The login grant's refresh token, when this call spent it (a resource token). */
  presented: string | undefined;
}

/** The provider refused the login's access token as an exchange's subject (`invalid_grant`): `error` is the 503 it ends in. */
export class SubjectRefused extends Error {
  readonly loginVer: number;
  readonly error: unknown;

  constructor(loginVer: number, error: unknown) {
    super('the subject token of a token exchange was refused');
    this.loginVer = loginVer;
    this.error = error;
  }
}

export async function grantRouteToken(o: RefresherOptions, call: GrantCall): Promise<Granted> {
  const { sid, provider, target, current, existing, forced, lease, dpop } = call;
  const { keyring } = o;
  const answerTimeoutMs = o.config.refreshTimeout;
  const now = () => o.now();
  let presented: string | undefined;
  let entry: StoredRouteToken;
  let fresh: ProviderTokens;
  if (target.kind === 'resource') {
    // Not asked for at login (the route came later): the provider would refuse it, and may spend the refresh token doing so.
    if (current.grantResources !== undefined && !current.grantResources.includes(target.resource)) throw notGranted();
    presented = openRefreshToken(keyring, sid, current);
    if (presented === undefined) throw new ReauthenticationRequiredError(undefined, { outcome: 'no_refresh_token' });
    const refreshToken = presented;
    try {
      fresh = await callWithLease(o, { sid, providerId: provider.id, grantOf: true }, lease, (signal) => provider.refresh(refreshToken, { answerTimeoutMs, signal, resource: target.resource, dpop }));
    } catch (err) {
      // The grant does not cover this resource after all: no retry helps, a new login may. The session stays.
      if (err instanceof GatewayError && err.cause instanceof ProviderError && err.cause.oauthError === 'invalid_target') throw notGranted(err);
      throw err;
    }
    entry = sealRouteToken(keyring, sid, target.key, fresh, { now: now(), ver: current.ver + 1, forcedAt: forced ? now() : existing?.forcedAt });
  } else if (target.kind === 'exchange') {
    const subjectToken = keyring.open(current.accessToken, sid, SEAL_FIELDS.access);
    try {
      fresh = await callWithLease(o, { sid, providerId: provider.id, grantOf: false }, lease, (signal) => provider.exchangeToken!({ subjectToken, audience: target.audience, scope: target.scope }, { answerTimeoutMs, signal, dpop }));
    } catch (err) {
      if (err instanceof GatewayError && err.cause instanceof ProviderError && err.cause.grantRevoked) throw new SubjectRefused(loginVer(current), err);
      throw err;
    }
    entry = sealRouteToken(keyring, sid, target.key, fresh, { now: now(), ver: current.ver + 1, forcedAt: forced ? now() : existing?.forcedAt });
  } else {
    // A linked provider renews with its own refresh token; without one (or once its grant is gone) it must be linked again.
    if (existing?.refreshToken === undefined) throw new ProviderNotLinkedError(target.provider);
    const refreshToken = keyring.open(existing.refreshToken, sid, routeTokenField(target.key, 'refresh'));
    try {
      fresh = await callWithLease(o, { sid, providerId: provider.id, grantOf: false, linked: true }, lease, (signal) => provider.refresh(refreshToken, { answerTimeoutMs, signal }));
    } catch (err) {
      if (!(err instanceof GatewayError && err.cause instanceof ProviderError && err.cause.grantRevoked)) throw err;
      await unlink(o.store, sid, current, target.key);
      throw new ProviderNotLinkedError(target.provider, { cause: err });
    }
    entry = sealLinkedToken(keyring, sid, target, fresh, { now: now(), ver: current.ver + 1, forcedAt: forced ? now() : existing.forcedAt, keptRefreshToken: existing.refreshToken, account: existing.account });
  }
  return { entry, fresh, presented };
}

/** A resource the login's grant does not cover: 401, a new login asks for every configured resource. The session stays. */
function notGranted(cause?: unknown): ReauthenticationRequiredError {
  return new ReauthenticationRequiredError('This API needs a new login: the current one was not granted access to it', { cause, outcome: 'invalid_target' });
}

/** A linked grant that ended at its provider: its entry goes (best effort; the next request tries again). */
async function unlink(store: Store, sid: string, current: StoredTokenSet, key: string): Promise<void> {
  const { [key]: _gone, ...rest } = current.resources ?? {};
  const { ver: _ver, ...fields } = current;
  await store.compareAndSetTokens(sid, current.ver, { ...fields, resources: rest, accessVer: loginVer(current) }).catch(() => undefined);
}
