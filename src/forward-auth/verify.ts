import type { Context, Middleware, Next } from 'koa';
import { GatewayError, OriginalMethodUnknownError, ReauthenticationRequiredError, SessionExpiredError } from '../errors.ts';
import { csrfOptionsFrom, csrfPolicy, csrfRejection, enforceCsrf, type CsrfRule } from '../http/csrf.ts';
import { securityEvent } from '../observability/index.ts';
import type { GatewayState } from '../http/state.ts';
import { refreshOutcomeOf } from '../tokens/index.ts';
import type { ForwardAuthDeps } from './deps.ts';
import { loggablePath, loginHint, originalRequest, type OriginalRequest } from './original-request.ts';

/**
 * The verify answer, as an ordered list of small steps. The session was loaded from the
 * forwarded Cookie header by the session loader that runs before these steps.
 *
 *   200  Authorization: Bearer <access token>, X-Auth-Request-User: <sub>,
 *        X-Auth-Request-Email: <email> (when known). Empty body. The token is refreshed first
 *        when it is due (TokenService, single-flight).
 *   401  {error, code} SESSION_EXPIRED or REAUTHENTICATION_REQUIRED, with X-Tokengate-Login
 *        (where to send a navigation: /auth/login?returnTo=<original URI>) and
 *        X-Tokengate-Error-Code for ingresses that cannot read a body (nginx).
 *   403  CSRF_REJECTED: the original request lacks the CSRF header (every method unless
 *        `forwardAuth.csrf: unsafe`; GET/HEAD page navigations pass when `forwardAuth.page`), or
 *        comes from a foreign Origin (the upstream is a proxied route like any other, invariant 8).
 *        ORIGINAL_METHOD_UNKNOWN: only a safe method would pass, and the ingress did not say
 *        which method the browser used.
 *   503  TOKEN_SERVICE_UNAVAILABLE / STORE_UNAVAILABLE with Retry-After.
 * Never cacheable.
 */

export type ForwardAuthState = Partial<GatewayState> & { original?: OriginalRequest };
type VerifyContext = Context & { state: ForwardAuthState };

/** Header values must be plain visible ASCII; anything else is left out rather than mangled. */
const HEADER_SAFE = /^[\x20-\x7e]+$/;

export function verifySteps(deps: ForwardAuthDeps): Middleware[] {
  return [nameRoute, neverCache, describeOriginal(deps), explainFailures(deps), checkCsrf(deps), answer(deps)];
}

async function nameRoute(ctx: VerifyContext, next: Next): Promise<void> {
  ctx.state.routeName = 'forward_auth.verify';
  await next();
}

async function neverCache(ctx: VerifyContext, next: Next): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  await next();
}

function describeOriginal(deps: ForwardAuthDeps) {
  return async function describeOriginalRequest(ctx: VerifyContext, next: Next): Promise<void> {
    const original = originalRequest(ctx, deps.config.forwardAuth.path);
    ctx.state.original = original;
    ctx.state.log = ctx.state.log?.child({ originalMethod: original.method, originalPath: loggablePath(original.uri) });
    await next();
  };
}

function explainFailures(deps: ForwardAuthDeps) {
  return async function explainFailure(ctx: VerifyContext, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (err instanceof GatewayError && err.expose) {
        ctx.state.log?.debug({ errorCode: err.code }, 'forward-auth denied');
        ctx.set('X-Tokengate-Error-Code', err.code);
        if (err.status === 401) ctx.set('X-Tokengate-Login', loginHint(ctx.state.original?.uri, deps.config.publicOrigin));
      }
      throw err;
    }
  };
}

function checkCsrf(deps: ForwardAuthDeps) {
  const policy = csrfPolicy(csrfOptionsFrom(deps.config));
  const rule: CsrfRule = { methods: deps.config.forwardAuth.csrf, page: deps.config.forwardAuth.page };
  return async function checkOriginalCsrf(ctx: VerifyContext, next: Next): Promise<void> {
    const method = ctx.state.original?.method;
    const headers = ctx.request.headers;
    // Would a safe method have passed where the unknown one does not? Then the ingress must say.
    if (method === undefined && csrfRejection(policy, rule, { method, headers }) !== undefined && csrfRejection(policy, rule, { method: 'GET', headers }) === undefined) {
      if (ctx.state.log) securityEvent(ctx.state.log, 'csrf_rejected', { reason: 'original method unknown', method: 'unknown' });
      throw new OriginalMethodUnknownError();
    }
    // The same rule as every proxied route, applied to the method the browser used.
    enforceCsrf(ctx, policy, rule, method);
    await next();
  };
}

function answer(deps: ForwardAuthDeps) {
  return async function answerVerify(ctx: VerifyContext): Promise<void> {
    const { sid, session, tokens } = ctx.state;
    if (sid === undefined || session === undefined) throw new SessionExpiredError();
    // A DPoP-bound session (from a time its provider had `dpop: true`): its token is useless
    // without a proof, which forward-auth cannot make for the ingress. A new login gets a Bearer one.
    if (tokens?.dpopKey !== undefined) throw new ReauthenticationRequiredError('This session has DPoP-bound tokens, which forward-auth cannot use; please log in again');
    const bearer = await deps.tokens.getAccessToken(sid, { session, tokens }).catch((err: unknown) => {
      ctx.state.refreshOutcome = refreshOutcomeOf(err);
      throw err;
    });
    ctx.state.refreshOutcome = bearer.outcome;
    ctx.state.log?.debug({ refreshOutcome: bearer.outcome }, 'forward-auth allowed');
    ctx.status = 200;
    ctx.set('Authorization', bearer.authorization);
    if (HEADER_SAFE.test(session.sub)) ctx.set('X-Auth-Request-User', session.sub);
    const email = session.claims.email;
    if (email !== undefined && HEADER_SAFE.test(email)) ctx.set('X-Auth-Request-Email', email);
    ctx.body = '';
  };
}
