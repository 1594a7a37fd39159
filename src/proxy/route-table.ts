import type { RouteConfig } from '../config/schema.ts';
import { BadRequestError } from '../errors.ts';
import type { CsrfRule } from '../http/csrf.ts';
import { routeCacheMode, type CacheMode } from './cache-headers.ts';
import { HeaderSet } from './headers.ts';
import { checkPath, splitTarget, upstreamTarget } from './upstream-target.ts';

/**
 * The configured routes, matched by path prefix on a segment boundary (`/api` matches `/api`
 * and `/api/x`, never `/apiary`); the longest prefix wins. The upstream of a request is always
 * one of the configured ones (invariant 10): the request only chooses the path below it.
 */

export interface Route {
  readonly config: RouteConfig;
  readonly prefix: string;
  /** The upstream as a URL (origin plus an optional base path). */
  readonly upstream: URL;
  /** A bounded label for logs and metrics: the prefix. */
  readonly name: string;
  /** The route's own `stripHeaders`. */
  readonly stripHeaders: HeaderSet;
  /** The route's CSRF rule: `csrf` (default `all`) and `page` from its config. */
  readonly csrf: CsrfRule;
  /** How its responses are cached (cache-headers.ts routeCacheMode). */
  readonly cacheMode: CacheMode;
}

export interface RouteMatch {
  route: Route;
  /** Path and query to request from the upstream, including its base path. */
  upstreamPath: string;
}

export class RouteTable {
  readonly #routes: readonly Route[];

  constructor(routes: readonly RouteConfig[]) {
    this.#routes = routes
      .map((config) => {
        const prefix = config.prefix.length > 1 ? config.prefix.replace(/\/+$/, '') : config.prefix;
        return { config, prefix, upstream: new URL(config.upstream), name: prefix, stripHeaders: new HeaderSet(config.stripHeaders), csrf: { methods: config.csrf, page: config.page }, cacheMode: routeCacheMode(config) };
      })
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  /**
   * The route for a request target (`/path?query`), or undefined when none matches. The path
   * is checked before matching and again in its final upstream form (upstream-target.ts): 400
   * for `\`, dot segments and encoded separators, and for `;parameters` that change which route
   * matches, so that what the prefix matched is what the upstream serves.
   */
  match(target: string): RouteMatch | undefined {
    const { path } = splitTarget(target);
    checkPath(path);
    const route = this.#find(path);
    // Servlet containers drop each segment's `;parameters` before routing: `/api;x/y` is
    // `/api/y` to them. A path whose parameters decide the route here is refused.
    if (/;|%3b/i.test(path) && this.#find(path.replace(/(;|%3b)[^/]*/gi, '')) !== route) {
      throw new BadRequestError('Request path must not use ; parameters that change its route');
    }
    if (route === undefined) return undefined;
    const sent = upstreamTarget({ prefix: route.prefix, basePath: route.upstream.pathname, stripPrefix: route.config.stripPrefix }, target);
    return { route, upstreamPath: sent.path + sent.query };
  }

  #find(path: string): Route | undefined {
    return this.#routes.find((candidate) => prefixMatches(candidate.prefix, path));
  }
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && (path[prefix.length] === '/' || prefix.endsWith('/')));
}
