import type { RouteConfig } from '../config/schema.ts';
import { BadRequestError } from '../errors.ts';

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
        return { config, prefix, upstream: new URL(config.upstream), name: prefix };
      })
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  get routes(): readonly Route[] {
    return this.#routes;
  }

  /** Every distinct upstream origin (for the agents). */
  get origins(): string[] {
    return [...new Set(this.#routes.map((route) => route.upstream.origin))];
  }

  /**
   * The route for a request target (`/path?query`), or undefined when none matches. Rejects
   * paths with dot segments (`/api/../admin`, also percent-encoded) with 400, so that what the
   * prefix matched is what the upstream serves.
   */
  match(target: string): RouteMatch | undefined {
    const queryAt = target.indexOf('?');
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    const query = queryAt === -1 ? '' : target.slice(queryAt);
    if (!path.startsWith('/')) throw new BadRequestError('Request path must start with /');
    if (hasDotSegment(path)) throw new BadRequestError('Request path must not contain . or .. segments');
    const route = this.#routes.find((candidate) => prefixMatches(candidate.prefix, path));
    if (route === undefined) return undefined;
    const below = route.config.stripPrefix && route.prefix !== '/' ? path.slice(route.prefix.length) : path;
    return { route, upstreamPath: joinPaths(route.upstream.pathname, below) + query };
  }
}

function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && (path[prefix.length] === '/' || prefix.endsWith('/')));
}

function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => {
    const decoded = segment.replace(/%2e/gi, '.');
    return decoded === '.' || decoded === '..';
  });
}

/** `/base` + `/x` → `/base/x`; `/` + `` → `/`; `/base/` + `/x` → `/base/x`. */
function joinPaths(base: string, rest: string): string {
  const head = base.endsWith('/') ? base.slice(0, -1) : base;
  if (rest === '') return head === '' ? '/' : head;
  return `${head}${rest.startsWith('/') ? rest : `/${rest}`}`;
}
