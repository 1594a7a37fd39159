import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SessionRecord, StoredTokenSet } from '../store/types.ts';
import type { BearerToken, RefreshOutcome } from '../tokens/index.ts';
import type { Route, RouteMatch } from './route-table.ts';

/**
 * One request for a proxied route, as the steps of the proxied-route handler see it. Route
 * matching makes it; each later step takes it as its argument and fills in what it found.
 */

/** The request's session, when its cookie led to one (see session step). */
export interface ProxiedSession {
  readonly sid: string;
  /** Short hash of the sid for logs; never the sid itself. */
  readonly tag: string;
  readonly record: SessionRecord;
  readonly tokens: StoredTokenSet | null;
}

export interface ProxiedRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly requestId: string;
  readonly route: Route;
  /** Path and query to request from the upstream, including its base path. */
  readonly upstreamPath: string;
  /** Set by the session step; undefined without a usable session. */
  session: ProxiedSession | undefined;
  /** Set by the authorize step; undefined for public routes and anonymous optional ones. */
  bearer: BearerToken | undefined;
  /** What the token service did for this request, for the access line. */
  refreshOutcome: RefreshOutcome | undefined;
  /** `Set-Cookie` lines the gateway adds to the response (a cleared or re-signed cookie). */
  setCookies: string[] | undefined;
}

export function proxiedRequest(req: IncomingMessage, res: ServerResponse, match: RouteMatch, requestId: string, started: number): ProxiedRequest {
  return {
    req,
    res,
    started,
    requestId,
    route: match.route,
    upstreamPath: match.upstreamPath,
    session: undefined,
    bearer: undefined,
    refreshOutcome: undefined,
    setCookies: undefined,
  };
}
