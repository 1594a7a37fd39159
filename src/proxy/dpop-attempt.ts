import type { IncomingHttpHeaders } from 'node:http';
import type { DpopKey } from '../dpop/key.ts';
import { asksForNonce, type DpopNonces } from '../dpop/nonces.ts';
import { proofUrl, signProof } from '../dpop/proof.ts';
import type { BearerToken } from '../tokens/index.ts';
import type { Attempt, ClientSide, HeldResponse } from './engine.ts';

/**
 * A proxied request of a DPoP session (RFC 9449 section 7): `Authorization: DPoP <token>` and a
 * fresh proof for exactly what the upstream receives: `htm` the method, `htu` the upstream's
 * origin and path (the final URL the engine sends to, without the query), `ath` the hash of the
 * token this attempt carries, and the upstream origin's latest `DPoP-Nonce`.
 */

export interface UpstreamDpop {
  key: DpopKey;
  /** The nonces of the upstream origins (one map for the whole proxy). */
  nonces: DpopNonces;
  /** The nonce the last proof of this request carried. */
  sent?: string | undefined;
}

export async function withProof(attempt: Attempt, bearer: BearerToken, dpop: UpstreamDpop): Promise<Attempt> {
  const { path, ...headers } = await dpopHeaders(bearer, dpop, attempt.method, attempt.upstream, attempt.path);
  Object.assign(attempt.headers, headers);
  attempt.path = path;
  return attempt;
}

/**
 * `Authorization: DPoP <token>` and the `DPoP` proof for one request to `upstream` (HTTP or a
 * WebSocket handshake), and the request target to send it to: `pathAndQuery` with its path in
 * well-formed form (see wellFormedTarget), which is the one the proof's `htu` names.
 */
export async function dpopHeaders(bearer: BearerToken, dpop: UpstreamDpop, method: string, upstream: URL, pathAndQuery: string): Promise<{ authorization: string; dpop: string; path: string }> {
  const { accessToken } = bearer;
  const origin = upstream.origin;
  const path = wellFormedTarget(pathAndQuery);
  dpop.sent = dpop.nonces.get(origin);
  const proof = await signProof(dpop.key, { htm: method, htu: proofUrl(origin, path), accessToken, nonce: dpop.sent });
  return { authorization: `DPoP ${accessToken}`, dpop: proof, path };
}

/** Characters a path may hold raw (Node accepts them) that WHATWG URL parsers percent-encode. */
const ENCODED_BY_PARSERS = /["<>^`{}]/;

/**
 * The request target with its path as a WHATWG URL parser serialises it (`{` as `%7B`, `"` as
 * `%22`, and so on; the query as it came). An upstream checks `htu` against the URL it rebuilds
 * from the request (RFC 9449 section 4.3), most often through such a parser: a raw `{` in the
 * path and in `htu` (not even a valid URI) would fail that check, and the 401 would cost a
 * refresh. Sent already encoded, the path reads the same to every parser, and a server that
 * compares the raw target sees the very `htu` too. Encoding adds no `/`, `.` or `\`, so the
 * checks of upstream-target.ts still hold. Browsers send these characters encoded already.
 */
function wellFormedTarget(pathAndQuery: string): string {
  const queryAt = pathAndQuery.indexOf('?');
  const path = queryAt === -1 ? pathAndQuery : pathAndQuery.slice(0, queryAt);
  if (!ENCODED_BY_PARSERS.test(path)) return pathAndQuery;
  return new URL(path, 'http://upstream.invalid').pathname + (queryAt === -1 ? '' : pathAndQuery.slice(queryAt));
}

/** The client side with every delivered response's `DPoP-Nonce` remembered for its upstream. */
export function observingNonces(client: ClientSide, dpop: UpstreamDpop, upstream: URL): ClientSide {
  return {
    ...client,
    responseHeaders: (headers: IncomingHttpHeaders) => {
      dpop.nonces.remember(upstream.origin, headers['dpop-nonce']);
      return client.responseHeaders(headers);
    },
  };
}

/** A held 401 that asks for a DPoP nonce and names one (remembered) other than the proof carried: worth one resend. */
export function nonceRetryWanted(held: HeldResponse, dpop: UpstreamDpop, upstream: URL): boolean {
  if (!asksForNonce(held.headers['www-authenticate'])) return false;
  const offered = held.headers['dpop-nonce'];
  return dpop.nonces.remember(upstream.origin, offered) && offered !== dpop.sent;
}
