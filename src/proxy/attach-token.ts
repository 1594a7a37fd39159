import type { Context, Next } from 'koa';
import type { RouteConfig } from '../config/schema.ts';
import { ReauthenticationRequiredError, SessionExpiredError } from '../errors.ts';
import type { SessionRecord, StoredTokenSet } from '../store/types.ts';
import { type BearerToken, failureOutcome, type TokenService } from '../tokens/index.ts';
import type { ProxyState } from './types.ts';
import { unauthenticatedAnswer } from './unauthenticated-answer.ts';

/**
 * The route's auth policy, for HTTP requests and WebSocket handshakes alike:
 * - `public`: never a token (the session cookie is still stripped);
 * - `optional`: the session's token when there is a usable session, else anonymous;
 * - `required`: the session's token; no session is 401 SESSION_EXPIRED.
 * A route bound to a provider (`route.provider`) only takes tokens of sessions from that provider.
 * The token comes from TokenService, refreshed first when due.
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
  return tokens.getAccessToken(sid, { session, tokens: request.tokens });
}

/** The Koa step: leaves the bearer (if any) and the refresh outcome on `ctx.state`. */
export function attachToken(tokens: TokenService) {
  return async function authorizeRoute(ctx: Context & { state: ProxyState }, next: Next): Promise<void> {
    const route = ctx.state.match!.route.config;
    if (ctx.state.session === undefined) {
      const answer = unauthenticatedAnswer(route, { method: ctx.method, url: ctx.url, headers: ctx.headers });
      if (answer.kind === 'login') {
        ctx.set('Cache-Control', 'no-store');
        return ctx.redirect(answer.location);
      }
    }
    let bearer: BearerToken | undefined;
    try {
      bearer = await bearerFor(route, ctx.state, tokens);
    } catch (err) {
      if (ctx.state.sid !== undefined) ctx.state.refreshOutcome = failureOutcome(err);
      throw err;
    }
    if (bearer !== undefined) {
      ctx.state.bearer = bearer;
      ctx.state.refreshOutcome = bearer.outcome;
    }
    await next();
  };
}
