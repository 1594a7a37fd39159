import { Router } from '@koa/router';
import type { Context, Next } from 'koa';
import { csrfOptionsFrom, csrfProtection } from '../http/csrf.ts';
import type { GatewayState } from '../http/state.ts';
import { backchannelLogoutHandler, parseLogoutForm } from './backchannel-logout.ts';
import { callbackHandler } from './callback.ts';
import type { AuthDeps } from './deps.ts';
import { loginHandler } from './login.ts';
import { logoutHandler } from './logout.ts';
import { sessionInfoHandler } from './session-info.ts';

/**
 * The /auth routes, each an ordered list of small middleware:
 *
 *   GET  /auth/login?provider=<id>&returnTo=<path>   start a login
 *   GET  /auth/callback/<id>                         finish it
 *   GET  /auth/session                               who is logged in (401 JSON without a session)
 *   POST /auth/logout                                CSRF header required; this session
 *   POST /auth/logout-everywhere                     CSRF header required; every session of the user
 *   POST /auth/backchannel-logout/<id>               OIDC Back-Channel Logout (server to server)
 *
 * Anything else under /auth falls through (and ends as 404 JSON).
 */
export function createAuthRouter(deps: AuthDeps): Router {
  const csrf = csrfProtection(csrfOptionsFrom(deps.config));
  const router = new Router({ prefix: '/auth' });
  router.get('/login', named('auth.login'), loginHandler(deps));
  router.get('/callback/:provider', named('auth.callback'), callbackHandler(deps));
  router.get('/session', named('auth.session'), sessionInfoHandler(deps));
  router.post('/logout', named('auth.logout'), csrf, logoutHandler(deps, { everywhere: false }));
  router.post('/logout-everywhere', named('auth.logout_everywhere'), csrf, logoutHandler(deps, { everywhere: true }));
  router.post('/backchannel-logout/:provider', named('auth.backchannel_logout'), parseLogoutForm(), backchannelLogoutHandler(deps));
  return router;
}

/** A bounded route label for logs and metrics. */
function named(routeName: string) {
  return async function nameRoute(ctx: Context & { state: Partial<GatewayState> }, next: Next): Promise<void> {
    ctx.state.routeName = routeName;
    await next();
  };
}
