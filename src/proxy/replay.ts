import type { OutgoingHttpHeaders } from 'node:http';
import { ReauthenticationRequiredError } from '../errors.ts';
import type { BearerToken } from '../tokens/index.ts';
import type { Attempt, ClientSide, ForwardingEngine } from './engine.ts';
import { deliverHeld } from './held-response.ts';
import type { RequestBody } from './request-body.ts';

/**
 * Replay once on an upstream 401 (DESIGN.md step 6). When the request carried a bearer and its
 * body was buffered, a 401 is discarded, the token service answers a newer token (the one
 * already stored if `ver` moved, else one single-flight refresh), and the same method, path,
 * headers and body go out again with it. A second 401 becomes 401 REAUTHENTICATION_REQUIRED.
 * A streamed body cannot be sent twice: its 401 goes to the client as is. When no newer token
 * can be had (grant revoked, provider down) the refresh's error answers the request. When the
 * session had a forced refresh less than `tokens.forcedRefreshCooldown` ago and the rejected
 * token is still the current one, nothing is refreshed: the upstream's 401 goes to the client as
 * is (`cooldown`), so an endpoint that always answers 401 costs one refresh per cooldown.
 */

export type ReplayResult = 'replayed' | 'rejected_again' | 'not_replayable' | 'refresh_failed' | 'cooldown';

export interface Credential {
  /** The bearer of the first attempt. */
  bearer: BearerToken;
  /** A newer token than the rejected one (TokenService.forceRefresh); undefined within the forced-refresh cooldown. */
  refresh: (rejectedVer: number) => Promise<BearerToken | undefined>;
}

export interface Exchange {
  upstream: URL;
  method: string;
  path: string;
  /** Headers for the upstream, without `Authorization` (each attempt sets its own). */
  headers: OutgoingHttpHeaders;
  body: RequestBody;
  timeoutMs: number;
  /** The session's token and how to get a newer one; undefined for anonymous requests (never replayed). */
  credential: Credential | undefined;
  /** Told once what the replay logic did. */
  onReplay?: (result: ReplayResult) => void;
}

/** Resolves once the response went to the client; rejects (before any byte went) with the error to answer. */
export async function exchangeWithReplay(engine: ForwardingEngine, client: ClientSide, exchange: Exchange): Promise<void> {
  const { credential, body } = exchange;
  const replayable = credential !== undefined && body.replayable;
  const first = await engine.exchange(attempt(exchange, credential?.bearer), client, (status) => status !== 401 || !replayable);
  if (first.status !== 401 || credential === undefined) return;
  // A streamed body cannot be sent twice: its 401 went to the client as it is.
  if (first.delivered) {
    exchange.onReplay?.('not_replayable');
    return;
  }
  let fresh: BearerToken | undefined;
  try {
    fresh = await credential.refresh(credential.bearer.ver);
  } catch (err) {
    exchange.onReplay?.('refresh_failed');
    throw err;
  }
  if (fresh === undefined) {
    // Within the forced-refresh cooldown: the upstream's 401 goes to the client as it is.
    exchange.onReplay?.('cooldown');
    deliverHeld(client, first.held);
    return;
  }
  const second = await engine.exchange(attempt(exchange, fresh), client, (status) => status !== 401);
  if (second.status === 401) {
    exchange.onReplay?.('rejected_again');
    throw new ReauthenticationRequiredError();
  }
  exchange.onReplay?.('replayed');
}

/** The attempt with `bearer`. Both attempts share the headers object: the second only changes the token. */
function attempt(exchange: Exchange, bearer: BearerToken | undefined): Attempt {
  const { headers } = exchange;
  if (bearer !== undefined) headers.authorization = bearer.authorization;
  const { body } = exchange;
  // A buffered body goes out with its exact length (a chunked upload arrives de-chunked); a
  // streamed one of unknown length goes out chunked.
  if (body.replayable && body.framed) headers['content-length'] = String(body.bytes.length);
  return {
    upstream: exchange.upstream,
    method: exchange.method,
    path: exchange.path,
    headers,
    body: body.replayable ? (body.framed ? body.bytes : null) : body.stream,
    timeoutMs: exchange.timeoutMs,
  };
}
