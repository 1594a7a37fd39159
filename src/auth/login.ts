import type { Context } from 'koa';
import { BadRequestError, NoSessionError, ProviderError, ProviderRejectedError, SessionExpiredError, TokenServiceUnavailableError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import type { AuthorizationRequest, Provider } from '../providers/types.ts';
import { callbackUrl, providerById, readyProvider, type AuthDeps } from './deps.ts';
import { queryParam } from './params.ts';
import { safeReturnTo } from './return-to.ts';
import { clientAddressResolver } from '../http/client-address.ts';
import { admitTransaction, newTransaction, pkceChallenge, releaseTransaction, storeTransaction } from './transaction.ts';

/**
 * GET /auth/login?provider=<id>&returnTo=<path>
 * GET /auth/link?provider=<id>&returnTo=<path>  (the same flow; see below)
 *
 * Starts a login: a one-use transaction (state, PKCE verifier, nonce for OIDC, returnTo, and
 * the sid of the session this browser already has, to be ended at the callback) goes
 * into the store for `session.loginTimeout`, its id into the SameSite=Lax login cookie, and
 * the browser is redirected to the provider with `state`, an S256 code challenge and the nonce
 * (or, when they were pushed to the provider first (RFC 9126), with `client_id` and the
 * provider's `request_uri` only). Bad input is 400 with nothing stored. A failed push stores
 * nothing either: 503 with Retry-After when the provider may answer later, 502
 * PROVIDER_REJECTED when it refused.
 * Past the pending-login limits of the client's address or of everyone (`login.*`), 429
 * TOO_MANY_PENDING_LOGINS with Retry-After, nothing stored.
 *
 * `/auth/link` (`link: true`) runs the same flow for a second provider while logged in: the
 * transaction records the browser's session as `linkTo` instead of `previousSid`, and the
 * callback stores that provider's tokens in this session's token set (no new session). Routes
 * bound to that provider then get its token.
 */
export function loginHandler(deps: AuthDeps, options: { link?: boolean } = {}) {
  const clientAddress = clientAddressResolver(deps.config.server.trustedProxies);
  const limits = { perAddress: deps.config.login.maxPendingPerAddress, total: deps.config.login.maxPending };
  return async function login(ctx: Context): Promise<void> {
    const state = ctx.state as Partial<GatewayState>;
    const provider = await readyProvider(providerById(deps, queryParam(ctx, 'provider', { maxLength: 64 })));
    const returnTo = safeReturnTo(queryParam(ctx, 'returnTo'), deps.config.publicOrigin);

    // The session loader has read the Strict session cookie (this request is same-site): a login
    // ends that session at its callback; a link adds the provider's tokens to it.
    const context = options.link ? { linkTo: linkableSession(ctx, deps, provider) } : { previousSid: state.sid };
    const transaction = newTransaction(provider, returnTo, deps.now(), { ...context, address: clientAddress(ctx.req) });
    // Admitted first: past a limit nothing is pushed to the provider or stored.
    const transactionId = await admitTransaction(deps.store, transaction, deps.config.session.loginTimeout, limits);
    let url: URL;
    try {
      url = await authorizationRedirect(ctx, provider, {
        state: transaction.state,
        codeChallenge: pkceChallenge(transaction.codeVerifier),
        ...(transaction.nonce === undefined ? {} : { nonce: transaction.nonce }),
        redirectUri: callbackUrl(deps.config.publicOrigin, provider.id),
        forceConsent: consentWanted(ctx, deps, provider.id),
      });
    } catch (err) {
      await releaseTransaction(deps.store, transactionId, transaction);
      throw err;
    }
    await storeTransaction(deps.store, transactionId, transaction, deps.config.session.loginTimeout);

    deps.cookies.login.write(ctx, transactionId, deps.config.session.loginTimeout);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url.href);
  };
}

/**
 * `/auth/link` needs a live session (401 NO_SESSION / SESSION_EXPIRED as `/auth/session`), from
 * another provider than the one to link (400), and the provider to link without DPoP (400).
 */
function linkableSession(ctx: Context, deps: AuthDeps, provider: Provider): string {
  const state = ctx.state as Partial<GatewayState>;
  if (state.sid === undefined || state.session === undefined) throw deps.cookies.session.read(ctx).status === 'absent' ? new NoSessionError() : new SessionExpiredError();
  if (state.session.provider === provider.id) throw new BadRequestError('This session is already logged in with that provider');
  // Its tokens would be bound to a DPoP key of their own, which a link does not keep.
  if (provider.dpop === true) throw new BadRequestError('A provider with DPoP cannot be linked');
  return state.sid;
}

/** The Google quirk: a previous login through this provider came back without a refresh token. */
function consentWanted(ctx: Context, deps: AuthDeps, providerId: string): boolean {
  const hint = deps.cookies.consent.read(ctx);
  return hint.status === 'valid' && hint.value === providerId;
}

/**
 * The provider's URL for this login. A push that failed is answered like a discovery failure
 * when it may work later (503 TOKEN_SERVICE_UNAVAILABLE with the provider's Retry-After) and as
 * PROVIDER_REJECTED (502) when the provider refused it; the status and OAuth error go to the log.
 */
async function authorizationRedirect(ctx: Context, provider: Provider, request: AuthorizationRequest): Promise<URL> {
  try {
    return await provider.authorizationUrl(request);
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    const log = (ctx.state as Partial<GatewayState>).log;
    log?.warn({ event: 'login_request_failed', provider: provider.id, httpStatus: err.httpStatus, oauthError: err.oauthError, transient: err.transient, err }, 'login request failed at the provider');
    if (err.transient) {
      const why = err.httpStatus === undefined ? 'the identity provider cannot be reached' : 'the identity provider is unavailable';
      throw new TokenServiceUnavailableError(`Login is unavailable: ${why}; try again later`, { cause: err, ...(err.retryAfter === undefined ? {} : { retryAfter: Math.max(1, err.retryAfter) }) });
    }
    const code = err.oauthError === undefined ? '' : ` (${err.oauthError})`;
    throw new ProviderRejectedError(`The identity provider "${provider.id}" refused the login request${code}; check the client's registration there`, { cause: err });
  }
}
