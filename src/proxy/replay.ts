import type { OutgoingHttpHeaders } from 'node:http';
import { ReauthenticationRequiredError } from '../errors.ts';
import type { BearerToken } from '../tokens/index.ts';
import { type UpstreamDpop, nonceRetryWanted, observingNonces, withProof } from './dpop-attempt.ts';
import type { Attempt, ClientSide, ExchangeResult, ForwardingEngine, HeldResponse } from './engine.ts';
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
 *
 * DPoP (RFC 9449): every attempt of a DPoP session carries a fresh proof for its token. A 401
 * `DPoP error="use_dpop_nonce"` with a new `DPoP-Nonce` is first sent once more, with the same
 * token and a proof carrying the nonce (`dpop_nonce`: no refresh); only a 401 after that goes the
 * refresh path above. A second nonce challenge goes to the client as it is.
 */

export type ReplayResult = 'replayed' | 'rejected_again' | 'not_replayable' | 'refresh_failed' | 'cooldown' | 'dpop_nonce';

export interface Credential {
  /** The bearer of the first attempt. */
  bearer: BearerToken;
  /** A newer token than the rejected one (TokenService.forceRefresh); undefined within the forced-refresh cooldown. */
  refresh: (rejectedVer: number) => Promise<BearerToken | undefined>;
  /** The session's DPoP key and the upstream nonces, for a DPoP session; undefined: Bearer. */
  dpop?: UpstreamDpop | undefined;
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
  const dpop = credential?.dpop;
  if (dpop !== undefined) client = observingNonces(client, dpop, exchange.upstream);
  const first = await engine.exchange(dpop === undefined ? attempt(exchange, credential?.bearer) : await withProof(attempt(exchange, credential!.bearer), credential!.bearer, dpop), client, (status) => status !== 401 || !replayable);
  if (first.status !== 401 || credential === undefined) return;
  // A streamed body cannot be sent twice: its 401 went to the client as it is.
  if (first.delivered) {
    exchange.onReplay?.('not_replayable');
    return;
  }
  let rejected: HeldResponse = first.held;
  if (dpop !== undefined && nonceRetryWanted(first.held, dpop, exchange.upstream)) {
    const again = await engine.exchange(await withProof(attempt(exchange, credential.bearer), credential.bearer, dpop), client, (status) => status !== 401);
    if (settledByNonce(again, exchange)) return;
    rejected = (again as Extract<ExchangeResult, { delivered: false }>).held;
    if (nonceRetryWanted(rejected, dpop, exchange.upstream)) {
      // The upstream refuses every nonce: its answer goes to the client as it is.
      exchange.onReplay?.('dpop_nonce');
      deliverHeld(client, rejected);
      return;
    }
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
    deliverHeld(client, rejected);
    return;
  }
  const next = attempt(exchange, fresh);
  const second = await engine.exchange(dpop === undefined ? next : await withProof(next, fresh, dpop), client, (status) => status !== 401);
  if (second.status === 401) {
    exchange.onReplay?.('rejected_again');
    throw new ReauthenticationRequiredError();
  }
  exchange.onReplay?.('replayed');
}

/** True when the resend with the upstream's nonce got an answer other than 401 (it went to the client). */
function settledByNonce(result: ExchangeResult, exchange: Exchange): boolean {
  if (result.status === 401) return false;
  exchange.onReplay?.('dpop_nonce');
  return true;
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
