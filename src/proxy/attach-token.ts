import type { RouteConfig } from '../config/schema.ts';
import { ReauthenticationRequiredError, SessionExpiredError } from '../errors.ts';
import type { SessionRecord, StoredTokenSet } from '../store/types.ts';
import { type BearerToken, failureOutcome, routeTokenTarget, type TokenService } from '../tokens/index.ts';
import type { ProxiedRequest } from './proxied-request.ts';
import { unauthenticatedAnswer } from './unauthenticated-answer.ts';

/**
 * The route's auth policy, for HTTP requests and WebSocket handshakes alike:
 * - `public`: never a token (the session cookie is still stripped);
 * - `optional`: the session's token when there is a usable session, else anonymous;
 * - `required`: the session's token; no session is 401 SESSION_EXPIRED.
 * A route bound to a provider (`route.provider`) only takes tokens of sessions from that provider.
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
  if (route.provider !== undefined && route.provider !== session.provider) {
    if (route.auth === 'optional') return undefined;
    throw new ReauthenticationRequiredError('This API needs a login with another provider');
  }
  // A route with a token of its own (RFC 8707 `resource`, RFC 8693 `exchange`) gets that one.
  if (route.resource !== undefined || route.exchange !== undefined) return tokens.getRouteToken(sid, routeTokenTarget(route)!, { session, tokens: request.tokens });
  return tokens.getAccessToken(sid, { session, tokens: request.tokens });
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
      if (session !== undefined) request.refreshOutcome = failureOutcome(err);
      throw err;
    }
    if (bearer !== undefined) {
      request.bearer = bearer;
      request.refreshOutcome = bearer.outcome;
    }
    return undefined;
  };
}
