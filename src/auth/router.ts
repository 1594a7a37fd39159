import { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import { csrfOptionsFrom, csrfProtection } from '../http/csrf.ts';
import type { GatewayState } from '../http/state.ts';
import { backchannelLogoutHandler, parseLogoutForm } from './backchannel-logout.ts';
import { callbackHandler } from './callback.ts';
import type { AuthDeps } from './deps.ts';
import { loginHandler } from './login.ts';
import { endListedSessionHandler } from './end-listed-session.ts';
import { listSessionsHandler } from './list-sessions.ts';
import { logoutHandler } from './logout.ts';
import { AUTH_PREFIX } from './prefix.ts';
import { SessionHandles } from './session-handle.ts';
import { sessionInfoHandler } from './session-info.ts';

/**
 * The /auth routes, each an ordered list of small middleware:
 *
 *   GET  /auth/login?provider=<id>&returnTo=<path>   start a login
 *   GET  /auth/link?provider=<id>&returnTo=<path>    link a second provider to this session
 *   GET  /auth/callback/<id>                         finish either
 *   GET  /auth/session                               who is logged in (401 JSON without a session)
 *   POST /auth/logout                                CSRF header required; this session
 *   POST /auth/logout-everywhere                     CSRF header required; every session of the user
 *   GET  /auth/sessions                              the user's sessions, by opaque handle (401 JSON without a session)
 *   POST /auth/sessions/<handle>/logout              CSRF header required; one of them
 *   POST /auth/backchannel-logout/<id>               OIDC Back-Channel Logout (server to server)
 *
 * Anything else under /auth falls through (and ends as 404 JSON).
 */
export function createAuthRouter(deps: AuthDeps): Router {
  const csrf = csrfProtection(csrfOptionsFrom(deps.config));
  const router = new Router({ prefix: AUTH_PREFIX });
  const handles = new SessionHandles(deps.config.keys.cookie);
  // Each route is registered under its label too, so `authRouteName` can tell it before it runs.
  router.get('auth.login', '/login', named('auth.login'), loginHandler(deps));
  router.get('auth.link', '/link', named('auth.link'), loginHandler(deps, { link: true }));
  router.get('auth.callback', '/callback/:provider', named('auth.callback'), callbackHandler(deps));
  router.get('auth.session', '/session', named('auth.session'), sessionInfoHandler(deps));
  router.post('auth.logout', '/logout', named('auth.logout'), csrf, logoutHandler(deps, { everywhere: false }));
  router.post('auth.logout_everywhere', '/logout-everywhere', named('auth.logout_everywhere'), csrf, logoutHandler(deps, { everywhere: true }));
  router.get('auth.sessions', '/sessions', named('auth.sessions'), listSessionsHandler(deps, handles));
  router.post('auth.sessions_logout', '/sessions/:handle/logout', named('auth.sessions_logout'), csrf, endListedSessionHandler(deps, handles));
  router.post('auth.backchannel_logout', '/backchannel-logout/:provider', named('auth.backchannel_logout'), parseLogoutForm(), backchannelLogoutHandler(deps));
  return router;
}

/**
 * The label of the /auth route a request is for, before it runs (a request that fails while its
 * session loads is still counted under its route); undefined when none matches.
 */
export function authRouteName(router: Router, method: string, path: string): string | undefined {
  if (!path.startsWith(`${AUTH_PREFIX}/`)) return undefined;
  return router.match(path, method).pathAndMethod.find((layer) => typeof layer.name === 'string')?.name ?? undefined;
}

/** A bounded route label for logs and metrics. */
function named(routeName: string) {
  return async function nameRoute(ctx: Context & { state: Partial<GatewayState> }, next: Next): Promise<void> {
    ctx.state.routeName = routeName;
    await next();
  };
}
