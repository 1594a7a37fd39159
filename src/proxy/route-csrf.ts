import type { CsrfRule } from '../http/csrf.ts';
import type { RouteConfig } from '../config/schema.ts';

/** The CSRF rule of a proxied route: `csrf` (default `all`) and `page` from its config. */
export function routeCsrfRule(route: Pick<RouteConfig, 'csrf' | 'page'>): CsrfRule {
  return { methods: route.csrf, page: route.page };
}
