import type { Context } from 'koa';
import type { GatewayState } from '../http/state.ts';
import { callbackUrl, providerById, readyProvider, type AuthDeps } from './deps.ts';
import { queryParam } from './params.ts';
import { safeReturnTo } from './return-to.ts';
import { clientAddressResolver } from '../http/client-address.ts';
import { newTransaction, pkceChallenge, saveTransaction } from './transaction.ts';

/**
 * GET /auth/login?provider=<id>&returnTo=<path>
 *
 * Starts a login: a one-use transaction (state, PKCE verifier, nonce for OIDC, returnTo, and
 * the sid of the session this browser already has, to be ended at the callback) goes
 * into the store for `session.loginTimeout`, its id into the SameSite=Lax login cookie, and
 * the browser is redirected to the provider with `state`, an S256 code challenge and the nonce.
 * Bad input is 400 with nothing stored. Past the pending-login limits of the client's address
 * or of everyone (`login.*`), 429 TOO_MANY_PENDING_LOGINS with Retry-After, nothing stored.
 */
export function loginHandler(deps: AuthDeps) {
  const clientAddress = clientAddressResolver(deps.config.server.trustedProxies);
  const limits = { perAddress: deps.config.login.maxPendingPerAddress, total: deps.config.login.maxPending };
  return async function login(ctx: Context): Promise<void> {
    const provider = await readyProvider(providerById(deps, queryParam(ctx, 'provider', { maxLength: 64 })));
    const returnTo = safeReturnTo(queryParam(ctx, 'returnTo'), deps.config.publicOrigin);

    // The session loader has read the Strict session cookie (this request is same-site).
    const previousSid = (ctx.state as Partial<GatewayState>).sid;
    const transaction = newTransaction(provider, returnTo, deps.now(), { previousSid, address: clientAddress(ctx.req) });
    const url = provider.authorizationUrl({
      state: transaction.state,
      codeChallenge: pkceChallenge(transaction.codeVerifier),
      ...(transaction.nonce === undefined ? {} : { nonce: transaction.nonce }),
      redirectUri: callbackUrl(deps.config.publicOrigin, provider.id),
      forceConsent: consentWanted(ctx, deps, provider.id),
    });
    const transactionId = await saveTransaction(deps.store, transaction, deps.config.session.loginTimeout, limits);

    deps.cookies.login.write(ctx, transactionId, deps.config.session.loginTimeout);
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(url.href);
  };
}

/** The Google quirk: a previous login through this provider came back without a refresh token. */
function consentWanted(ctx: Context, deps: AuthDeps, providerId: string): boolean {
  const hint = deps.cookies.consent.read(ctx);
  return hint.status === 'valid' && hint.value === providerId;
}
