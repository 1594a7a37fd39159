import type { Context } from 'koa';
import { BadRequestError, GatewayError, ProviderError, ReauthenticationRequiredError } from '../errors.ts';
import type { GatewayState } from '../http/state.ts';
import { sameSecret } from '../crypto/same-secret.ts';
import { generateDpopKey } from '../dpop/key.ts';
import { securityEvent, sessionTag } from '../observability/index.ts';
import { sendContinuePage } from './continue-page.ts';
import { callbackUrl, providerById, readyProvider, type AuthDeps } from './deps.ts';
import { endPreviousSessions } from './end-previous-sessions.ts';
import { establishSession } from './establish-session.ts';
import { queryParam } from './params.ts';
import { sameOriginPath } from './return-to.ts';
import { takeTransaction, type LoginTransaction } from './transaction.ts';
import type { Provider, ProviderTokens, UserProfile } from '../providers/types.ts';

/**
 * GET /auth/callback/<provider>
 *
 * 1. The login transaction named by the login cookie is taken from the store first (one use:
 *    whatever is wrong with this callback, a replay finds nothing). No cookie, a forged one,
 *    an expired or used transaction: 400.
 * 2. `state` must equal the transaction's and the transaction must belong to this callback's
 *    provider (one callback path per provider); `iss`, when sent, must be the provider's
 *    issuer (RFC 9207), and it must be sent when the provider advertises it
 *    (`authorization_response_iss_parameter_supported`, section 2.4). Else 400 and a
 *    security event.
 * 3. The provider's `error` parameter: 400 naming the OAuth error code.
 * 4. Code exchange (never retried), ID token verification or profile fetch. Any failure: 400,
 *    the login must start again (the code and the transaction are spent). For a provider with
 *    `dpop: true` the session's DPoP key is made first and the exchange carries its proof.
 * 5. A new session; the browser's previous one (recorded at /auth/login) is ended. (For
 *    `/auth/link`: the tokens go into the session that started it instead.) Then a 200
 *    page that goes on to returnTo by itself (not a redirect: the SameSite=Strict session
 *    cookie must reach returnTo, see continue-page.ts).
 * Nothing is stored unless step 5 is reached.
 */

type StatefulContext = Context & { state: Partial<GatewayState>; params: Record<string, string> };

export function callbackHandler(deps: AuthDeps) {
  return async function callback(ctx: StatefulContext): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    // Taken first: whatever is wrong with this callback, the transaction is spent.
    const transaction = await takeLoginTransaction(ctx, deps);
    const provider = providerById(deps, ctx.params['provider']);
    const params = {
      state: queryParam(ctx, 'state'),
      code: queryParam(ctx, 'code'),
      error: queryParam(ctx, 'error', { maxLength: 128 }),
      iss: queryParam(ctx, 'iss'),
    };
    // Checked for repetition and size like the others; never used or echoed.
    queryParam(ctx, 'error_description');

    // Ready first: whether `iss` is required comes from the provider's discovery metadata.
    const ready = await readyProvider(provider);
    checkBinding(ctx, ready, transaction, params);
    if (params.error !== undefined) throw new BadRequestError(`Login was not completed at the provider (${knownOAuthError(params.error)})`);
    if (params.code === undefined) throw new BadRequestError('Parameter "code" is required');

    // DPoP (RFC 9449): the new session's own key, made here so the code exchange binds the tokens to it.
    const dpop = ready.dpop ? await generateDpopKey() : undefined;
    const tokens = await finishAtProvider(ctx, provider.id, () => ready.exchangeCode(params.code!, transaction.codeVerifier, callbackUrl(deps.config.publicOrigin, provider.id), { dpop: dpop?.key }));
    const profile = await finishAtProvider(ctx, provider.id, () => ready.identify(tokens, transaction.nonce, { dpop: dpop?.key }));

    if (transaction.linkTo !== undefined) return linkProvider(ctx, deps, transaction, ready, tokens, profile.sub);
    const cookieSid = ctx.state.sid;
    const session = await establishSession(ctx, deps, ready, tokens, profile, dpop?.privateJwk, transaction.resources);
    await endPreviousSessions(ctx, deps, session, [transaction.previousSid, cookieSid]);
    ctx.state.log?.info({ event: 'login_completed', provider: provider.id, session: ctx.state.sessionTag }, 'login completed');
    // Validated at login; checked again in the form that is emitted (a stored value is input too).
    sendContinuePage(ctx, sameOriginPath(transaction.returnTo, deps.config.publicOrigin) ?? '/');
  };
}

/**
 * `/auth/link`: the provider's tokens go into the session that started the link (not a new
 * session; the session cookie stays as it is). A session that ended meanwhile: 400, nothing
 * stored, and the tokens just obtained are revoked at the provider (as after any failure to store them).
 */
async function linkProvider(ctx: StatefulContext, deps: AuthDeps, transaction: LoginTransaction, provider: Provider, tokens: ProviderTokens, account: string): Promise<void> {
  const sid = transaction.linkTo!;
  const providerId = provider.id;
  if (deps.tokens === undefined) throw new BadRequestError('Linking a provider is not available here');
  let replaced;
  try {
    replaced = await deps.tokens.linkProvider(sid, providerId, tokens, account);
  } catch (err) {
    // Not stored: the grant just made at the provider is revoked there, not left behind unheld.
    deps.revoker.revokeInBackground(provider, tokens, { sessionTag: sessionTag(sid) });
    if (err instanceof ReauthenticationRequiredError) throw new BadRequestError('The session to link to has ended; log in again', { cause: err });
    throw err;
  }
  // An earlier link of this provider, of another account there, is replaced: its tokens are revoked there.
  if (replaced !== undefined) deps.revoker.revokeInBackground(provider, replaced, { sessionTag: sessionTag(sid) });
  ctx.state.log?.info({ event: 'provider_linked', provider: providerId, session: sessionTag(sid) }, 'provider linked');
  sendContinuePage(ctx, sameOriginPath(transaction.returnTo, deps.config.publicOrigin) ?? '/');
}

async function takeLoginTransaction(ctx: StatefulContext, deps: AuthDeps): Promise<LoginTransaction> {
  const cookie = deps.cookies.login.read(ctx);
  if (cookie.status !== 'absent') deps.cookies.login.clear(ctx);
  if (cookie.status === 'forged') {
    securityEvent(ctx.state.log ?? deps.logger, 'tampered_cookie', { cookie: deps.cookies.login.name });
    throw new BadRequestError('No login in progress in this browser');
  }
  if (cookie.status === 'absent') throw new BadRequestError('No login in progress in this browser');
  const transaction = await takeTransaction(deps.store, cookie.value);
  if (transaction === null) throw new BadRequestError('This login has expired or was already completed; please start again');
  return transaction;
}

function checkBinding(ctx: StatefulContext, provider: Provider, transaction: LoginTransaction, params: { state: string | undefined; iss: string | undefined }): void {
  const log = ctx.state.log;
  if (params.state === undefined || !sameSecret(params.state, transaction.state)) {
    if (log) securityEvent(log, 'state_mismatch', { provider: provider.id, missing: params.state === undefined });
    throw new BadRequestError('The login state does not match; please start again');
  }
  if (transaction.provider !== provider.id) {
    if (log) securityEvent(log, 'provider_mixup', { provider: provider.id, expected: transaction.provider });
    throw new BadRequestError('This login was started with another provider');
  }
  if (params.iss === undefined && provider.issParameterSupported) {
    // RFC 9207 section 2.4: a provider that advertises `iss` always sends it; a response
    // without it may come from another provider (mix-up).
    if (log) securityEvent(log, 'issuer_mismatch', { provider: provider.id, missing: true });
    throw new BadRequestError('The authorization response has no issuer (iss)');
  }
  if (params.iss !== undefined && provider.issuer !== undefined && params.iss !== provider.issuer) {
    if (log) securityEvent(log, 'issuer_mismatch', { provider: provider.id });
    throw new BadRequestError('The authorization response comes from another issuer');
  }
}

/**
 * A failure past the state check spends the login: the code is single-use and the transaction
 * is gone, so whatever the cause (an OAuth error, a 500, HTML or broken JSON from the token
 * endpoint, a rejected ID token) the browser is told to start again. The details go to the log,
 * never to the browser.
 */
async function finishAtProvider<T extends ProviderTokens | UserProfile>(ctx: StatefulContext, providerId: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    const details = err instanceof ProviderError ? { oauthError: err.oauthError, httpStatus: err.httpStatus, transient: err.transient } : { errorCode: err.code };
    if (err instanceof BadRequestError && ctx.state.log) securityEvent(ctx.state.log, 'login_rejected', { provider: providerId, reason: err.message });
    ctx.state.log?.warn({ event: 'login_failed', provider: providerId, ...details }, 'login failed at the provider');
    throw new BadRequestError('Login could not be completed; please start again', { cause: err });
  }
}

/** OAuth 2.0 and OpenID Connect authorization error codes; anything else is not echoed. */
const AUTHORIZATION_ERRORS = new Set([
  'invalid_request',
  'unauthorized_client',
  'access_denied',
  'unsupported_response_type',
  'invalid_scope',
  'server_error',
  'temporarily_unavailable',
  'interaction_required',
  'login_required',
  'account_selection_required',
  'consent_required',
  'invalid_request_uri',
  'invalid_request_object',
  'request_not_supported',
  'request_uri_not_supported',
  'registration_not_supported',
]);

function knownOAuthError(error: string): string {
  return AUTHORIZATION_ERRORS.has(error) ? error : 'unknown error';
}
