import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { ReauthenticationRequiredError } from '../errors.ts';
import type { BearerToken } from '../tokens/index.ts';
import type { Attempt, Forwarder } from './forwarder.ts';
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

export type ReplayResult = 'not_needed' | 'replayed' | 'rejected_again' | 'not_replayable' | 'refresh_failed' | 'cooldown';

export interface Exchange {
  upstream: URL;
  path: string;
  /** Headers for the upstream, without `Authorization`. */
  headers: OutgoingHttpHeaders;
  body: RequestBody;
  timeoutMs: number;
  /** The bearer of the first attempt; undefined for anonymous requests (never replayed). */
  bearer: BearerToken | undefined;
  /** A newer token than the rejected one (TokenService.forceRefresh); undefined within the forced-refresh cooldown. */
  refresh: (rejectedVer: number) => Promise<BearerToken | undefined>;
  /** Told once what the replay logic did. */
  onReplay?: (result: ReplayResult) => void;
}

export async function exchangeWithReplay(forwarder: Forwarder, req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<IncomingMessage> {
  const first = await forwarder.send(req, res, attempt(exchange, exchange.bearer));
  if (first.statusCode !== 401 || exchange.bearer === undefined) return first;
  if (!exchange.body.replayable) {
    exchange.onReplay?.('not_replayable');
    return first;
  }
  let fresh: BearerToken | undefined;
  try {
    fresh = await exchange.refresh(exchange.bearer.ver);
  } catch (err) {
    discard(first);
    exchange.onReplay?.('refresh_failed');
    throw err;
  }
  if (fresh === undefined) {
    exchange.onReplay?.('cooldown');
    return first;
  }
  discard(first);
  const second = await forwarder.send(req, res, attempt(exchange, fresh));
  if (second.statusCode === 401) {
    discard(second);
    exchange.onReplay?.('rejected_again');
    throw new ReauthenticationRequiredError();
  }
  exchange.onReplay?.('replayed');
  return second;
}

function attempt(exchange: Exchange, bearer: BearerToken | undefined): Attempt {
  const headers: OutgoingHttpHeaders = { ...exchange.headers };
  if (bearer !== undefined) headers.authorization = bearer.authorization;
  // A buffered body goes out with its exact length (a chunked upload arrives de-chunked).
  if (exchange.body.replayable && exchange.body.framed) headers['content-length'] = String(exchange.body.bytes.length);
  // A streamed body of unknown length stays chunked whatever the method.
  if (!exchange.body.replayable && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
  const body = exchange.body.replayable ? exchange.body.bytes : exchange.body.stream;
  return { upstream: exchange.upstream, path: exchange.path, headers, body, timeoutMs: exchange.timeoutMs };
}

/** Reads and drops a response the client will not see, so its keep-alive socket can be reused. */
function discard(response: IncomingMessage): void {
  response.resume();
  response.on('error', () => response.destroy());
}
