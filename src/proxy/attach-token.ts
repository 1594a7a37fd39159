import type { RouteConfig } from '../config/schema.ts';
import { ProviderNotLinkedError, ReauthenticationRequiredError, SessionExpiredError } from '../errors.ts';
import type { SessionRecord, StoredTokenSet } from '../store/types.ts';
import { type BearerToken, refreshOutcomeOf, routeTokenTarget, type TokenService } from '../tokens/index.ts';
import type { ProxiedRequest } from './proxied-request.ts';
import { notLinkedAnswer, unauthenticatedAnswer } from './unauthenticated-answer.ts';

/**
 * The route's auth policy, for HTTP requests and WebSocket handshakes alike:
 * - `public`: never a token (the session cookie is still stripped);
 * - `optional`: the session's token when there is a usable session, else anonymous;
 * - `required`: the session's token; no session is 401 SESSION_EXPIRED.
 * A route bound to another provider than the session's (`route.provider`) takes that provider's
 * linked token (`/auth/link`): 403 PROVIDER_NOT_LINKED when there is none (anonymous on an
 * optional route); with `resource` or `exchange` it needs a session from that provider.
 * The token comes from TokenService, refreshed first when due: the login's, or the route's own
 * (`resource`, `exchange`).
 */

export interface RequestSession {
  sid?: string | undefined;
  session?: SessionRecord | undefined;
  tokens?: StoredTokenSet | null | undefined;
}

export async function bearerFor(route: RouteConfig, request: RequestSession, tokens: TokenService): Promise<BearerToken | undefined> {
  if (route.auth === 'public') return undefined;
  const { sid, session } = request;
  if (sid === undefined || session === undefined) {
    if (route.auth === 'optional') return undefined;
    throw new SessionExpiredError();
  }
  const ownToken = route.resource !== undefined || route.exchange !== undefined;
  if (route.provider !== undefined && route.provider !== session.provider && ownToken) {
    if (route.auth === 'optional') return undefined;
    throw new ReauthenticationRequiredError('This API needs a login with another provider', { outcome: 'provider_mismatch' });
  }
  // A route with a token of its own (RFC 8707 `resource`, RFC 8693 `exchange`, a linked provider's) gets that one.
  const target = ownToken || route.provider !== undefined ? routeTokenTarget(route, session.provider) : undefined;
  if (target === undefined) return tokens.getAccessToken(sid, { session, tokens: request.tokens });
  try {
    return await tokens.getRouteToken(sid, target, { session, tokens: request.tokens });
  } catch (err) {
    if (err instanceof ProviderNotLinkedError && route.auth === 'optional') return undefined;
    throw err;
  }
}

/**
 * The handler's step: leaves the bearer (if any) and the refresh outcome on the request. A person's
 * page navigation without a session, on a route with `onUnauthenticated: login`, is not
 * authorized but sent to the login: the step answers the login URL to redirect to.
 */
export function authorizeStep(tokens: TokenService) {
  return async function authorize(request: ProxiedRequest): Promise<string | undefined> {
    const { session, req } = request;
    const route = request.route.config;
    if (session === undefined) {
      const answer = unauthenticatedAnswer(route, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
      if (answer.kind === 'login') return answer.location;
    }
    let bearer: BearerToken | undefined;
    try {
      bearer = await bearerFor(route, session === undefined ? {} : { sid: session.sid, session: session.record, tokens: session.tokens }, tokens);
    } catch (err) {
      if (err instanceof ProviderNotLinkedError) {
        const answer = notLinkedAnswer(route, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }, err.linkPath);
        if (answer.kind === 'login') return answer.location;
      }
      if (session !== undefined) request.refreshOutcome = refreshOutcomeOf(err);
      throw err;
    }
    if (bearer !== undefined) {
      request.bearer = bearer;
      request.refreshOutcome = bearer.outcome;
    }
    return undefined;
  };
}
