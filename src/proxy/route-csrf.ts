import type { Context, Next } from 'koa';
import { csrfPolicy, enforceCsrf, type CsrfOptions, type CsrfRule } from '../http/csrf.ts';
import type { RouteConfig } from '../config/schema.ts';
import type { ProxyState } from './types.ts';

/** The CSRF rule of a proxied route: `csrf` (default `all`) and `page` from its config. */
export function routeCsrfRule(route: Pick<RouteConfig, 'csrf' | 'page'>): CsrfRule {
  return { methods: route.csrf, page: route.page };
}

/** The Koa step after matchRoute: the matched route's CSRF rule, 403 CSRF_REJECTED when it refuses. */
export function routeCsrf(options: CsrfOptions) {
  const policy = csrfPolicy(options);
  return async function checkRouteCsrf(ctx: Context & { state: ProxyState }, next: Next): Promise<void> {
    enforceCsrf(ctx, policy, routeCsrfRule(ctx.state.match!.route.config));
    await next();
  };
}
