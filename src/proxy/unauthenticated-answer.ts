import type { IncomingHttpHeaders } from 'node:http';
import { safeReturnTo } from '../auth/return-to.ts';
import type { RouteConfig } from '../config/schema.ts';
import { isNavigation } from '../http/navigation.ts';

/**
 * What a proxied route answers a request that has no session, when the route needs one.
 *
 * A route with `onUnauthenticated: login` sends a person's page navigation (GET, see
 * isNavigation) to the login, with the page as `returnTo` (302 to
 * `/auth/login?returnTo=<path and query>`). Everything else keeps the 401 JSON
 * `SESSION_EXPIRED`: API calls, non-GET methods, routes without the setting, and a request
 * target that is not a plain same-origin path (it would not survive the login's returnTo check).
 *
 * Pure: it reads the route's config and the request line and headers only, so the Koa proxy
 * step and any other request handler can share it.
 */

export type UnauthenticatedAnswer = { kind: 'login'; location: string } | { kind: 'error' };

export interface UnauthenticatedRequest {
  method: string;
  /** The request target as received: a path and query. */
  url: string;
  headers: IncomingHttpHeaders;
}

/** Any origin works as the base: only the path and query of the result are used. */
const BASE = 'http://tokengate.invalid';

export function unauthenticatedAnswer(route: Pick<RouteConfig, 'auth' | 'onUnauthenticated'>, req: UnauthenticatedRequest, start = '/auth/login?'): UnauthenticatedAnswer {
  if (route.auth !== 'required' || route.onUnauthenticated !== 'login') return { kind: 'error' };
  if (req.method !== 'GET' || !isNavigation(req.headers)) return { kind: 'error' };
  let returnTo: string;
  try {
    returnTo = safeReturnTo(req.url, BASE);
  } catch {
    return { kind: 'error' };
  }
  return { kind: 'login', location: `${start}returnTo=${encodeURIComponent(returnTo)}` };
}

/**
 * The same rule for a session that lacks the route's linked provider (PROVIDER_NOT_LINKED): a
 * person's page navigation on an `onUnauthenticated: login` route goes to
 * `/auth/link?provider=<id>&returnTo=<path>`; everything else gets the 403 JSON.
 */
export function notLinkedAnswer(route: Pick<RouteConfig, 'auth' | 'onUnauthenticated'>, req: UnauthenticatedRequest, linkPath: string): UnauthenticatedAnswer {
  return unauthenticatedAnswer(route, req, `${linkPath}&`);
}
