import { BadRequestError } from '../errors.ts';

/**
 * The exact request target the upstream receives, decided once and checked in its final form
 * (security audit, issue 10). Engine-agnostic: any forwarding engine sends `path` verbatim and
 * must not parse or normalise it again (http-proxy-3 runs with `toProxy`, see forwarder.ts).
 *
 * Refused with 400 BAD_REQUEST, never forwarded:
 * - a path that does not start with `/`, or an upstream path that starts with `//` (a
 *   WHATWG parser would read it as a host);
 * - `\` anywhere in the path (WHATWG URL parsers read it as `/`), control characters, spaces;
 * - `#` in the path: a request target has no fragment, and an upstream that drops `#…` reads
 *   `/api#x` (which the route table matched to another route, or none) as `/api`;
 * - dot segments (`.`, `..`), also percent-encoded (`%2e`, `%2E`, mixed), also with path
 *   parameters (`..;x`, `.;`, `..%3b`), which servlet containers resolve as `..` and `.`;
 * - encoded slashes and backslashes (`%2f`, `%5c`, any case): an upstream that decodes them
 *   would see other segments than the ones checked here;
 * - an upstream path that does not stay under the route's base path.
 * The query string is passed on exactly as the client sent it.
 */

export interface TargetRoute {
  /** The route prefix without a trailing slash (`/` for the root route). */
  prefix: string;
  /** The upstream's base path (`/` or `/base` or `/base/`). */
  basePath: string;
  stripPrefix: boolean;
}

export interface UpstreamTarget {
  /** Path only, as sent. */
  path: string;
  /** `?…` as the client sent it, or ''. */
  query: string;
}

const FORBIDDEN_CHARS = /[\\#\x00-\x20\x7f]/;
const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** Splits a raw request target (`/path?query`) into path and query, without decoding either. */
export function splitTarget(rawTarget: string): { path: string; query: string } {
  const queryAt = rawTarget.indexOf('?');
  return queryAt === -1 ? { path: rawTarget, query: '' } : { path: rawTarget.slice(0, queryAt), query: rawTarget.slice(queryAt) };
}

/** Throws BAD_REQUEST unless `path` is a path that every URL parser reads as these same segments. */
export function checkPath(path: string): void {
  if (!path.startsWith('/')) throw new BadRequestError('Request path must start with /');
  if (FORBIDDEN_CHARS.test(path)) throw new BadRequestError('Request path must not contain \\, #, spaces or control characters');
  if (ENCODED_SEPARATOR.test(path)) throw new BadRequestError('Request path must not contain encoded / or \\');
  if (hasDotSegment(path)) throw new BadRequestError('Request path must not contain . or .. segments');
}

/**
 * The upstream target for a request on `route`: the path below the prefix (or the whole path)
 * joined onto the upstream's base path, plus the query as sent. The final path is checked
 * again, and must stay under the base path.
 */
export function upstreamTarget(route: TargetRoute, rawTarget: string): UpstreamTarget {
  const { path, query } = splitTarget(rawTarget);
  checkPath(path);
  const below = route.stripPrefix && route.prefix !== '/' ? path.slice(route.prefix.length) : path;
  const final = joinPaths(route.basePath, below);
  checkPath(final);
  if (final.startsWith('//')) throw new BadRequestError('Request path must not start with //');
  if (!underBase(route.basePath, final)) throw new BadRequestError('Request path leaves the route');
  return { path: final, query };
}

function hasDotSegment(path: string): boolean {
  return path.split('/').some((segment) => {
    // Servlet containers (Tomcat, Spring) drop a segment's `;parameters` before resolving dot
    // segments, so `..;x` is `..` to them; `%3b` counts as `;` too.
    const name = segment.replace(/%2e/gi, '.').replace(/%3b/gi, ';').split(';', 1)[0];
    return name === '.' || name === '..';
  });
}

function underBase(basePath: string, path: string): boolean {
  const base = basePath.endsWith('/') ? basePath.slice(0, -1) : basePath;
  return base === '' || path === base || path.startsWith(`${base}/`);
}

/** `/base` + `/x` → `/base/x`; `/` + `` → `/`; `/base/` + `/x` → `/base/x`. */
function joinPaths(base: string, rest: string): string {
  const head = base.endsWith('/') ? base.slice(0, -1) : base;
  if (rest === '') return head === '' ? '/' : head;
  return `${head}${rest.startsWith('/') ? rest : `/${rest}`}`;
}
