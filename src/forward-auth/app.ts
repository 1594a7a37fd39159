import Koa, { type Context, type Middleware, type Next } from 'koa';
import compose from 'koa-compose';
import { NotFoundError } from '../errors.ts';
import { errorHandler } from '../http/error-handler.ts';
import { accessLog } from '../observability/index.ts';
import { loadSession } from '../session/load-session.ts';
import type { ForwardAuthDeps } from './deps.ts';
import { carriesSharedSecret, isVerifyPath } from './shared-secret.ts';
import { verifySteps } from './verify.ts';

/**
 * Where the verify endpoint is served. It hands out tokens, so browsers must not reach it:
 *
 * - its own listener (`forwardAuth.listen`), which only the ingress can reach: a Koa app that
 *   answers the verify path and 404 for everything else;
 * - the main listener, only for requests that carry `forwardAuth.sharedSecret` in
 *   `forwardAuth.secretHeader`. Without it the verify path answers 404, exactly like a path
 *   that does not exist.
 *
 * When a sharedSecret is configured, the own listener asks for it too. The composition root
 * (src/app.ts) names the own listener among the gateway's listeners; the runtime binds it.
 */

/** The Koa app of the forward-auth listener. */
export function createForwardAuthApp(deps: ForwardAuthDeps): Koa {
  const app = new Koa();
  app.silent = true;
  const chain: Middleware[] = [
    errorHandler(),
    accessLog({ logger: deps.logger, ...(deps.metrics ? { metrics: deps.metrics } : {}) }),
    onlyVerifyRequests(deps),
    sessionFromForwardedCookie(deps),
    ...verifySteps(deps),
  ];
  for (const middleware of chain) app.use(middleware);
  return app;
}

/**
 * For the main listener's chain, after the session loader: the verify endpoint when the request
 * carries the shared secret, 404 for the verify path otherwise, and nothing for any other path.
 */
export function forwardAuthOnMainListener(deps: ForwardAuthDeps): Middleware {
  const { forwardAuth } = deps.config;
  const verify = compose(verifySteps(deps));
  return async function forwardAuthGate(ctx: Context, next: Next): Promise<void> {
    if (!forwardAuth.enabled || !isVerifyPath(ctx.path, forwardAuth.path)) return next();
    if (forwardAuth.sharedSecret === undefined || !carriesSharedSecret(ctx, forwardAuth)) throw new NotFoundError();
    await verify(ctx, next);
  };
}

function onlyVerifyRequests(deps: ForwardAuthDeps) {
  const { forwardAuth } = deps.config;
  return async function onlyVerify(ctx: Context, next: Next): Promise<void> {
    if (!isVerifyPath(ctx.path, forwardAuth.path) || !carriesSharedSecret(ctx, forwardAuth)) throw new NotFoundError();
    await next();
  };
}

function sessionFromForwardedCookie(deps: ForwardAuthDeps): Middleware {
  return loadSession({
    cookie: deps.cookies.session,
    store: deps.store,
    idleTimeoutMs: deps.config.session.idleTimeout,
    now: deps.now,
    logger: deps.logger,
    routeLabel: () => 'forward_auth.verify',
  });
}
