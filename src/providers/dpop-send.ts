import type { DpopKey } from '../dpop/key.ts';
import type { DpopNonces } from '../dpop/nonces.ts';
import { proofUrl, signProof } from '../dpop/proof.ts';
import type { HttpAnswer, HttpRequest, ProviderHttp } from './http.ts';

/**
 * A provider request with a DPoP proof (RFC 9449): a fresh proof for every attempt, carrying the
 * nonce the server (the request URL) last gave, and one resend when the answer is that server's
 * nonce challenge (`challenged`) with a nonce other than the one the proof carried: at the token
 * endpoint `400 use_dpop_nonce` (section 8), at a resource such as UserInfo a 401
 * `DPoP error="use_dpop_nonce"` (section 9). Every answer's `DPoP-Nonce` is kept for the next
 * proof to that server.
 */

export interface ProviderDpop {
  key: DpopKey;
  /** The provider's nonces, by server. */
  nonces: DpopNonces;
}

export async function sendWithProof(
  http: ProviderHttp,
  operation: string,
  dpop: ProviderDpop,
  request: HttpRequest,
  options: { accessToken?: string; challenged(answer: HttpAnswer): boolean },
): Promise<HttpAnswer> {
  const server = String(request.url);
  const htu = proofUrl('', server);
  const proof = () => signProof(dpop.key, { htm: request.method, htu, accessToken: options.accessToken, nonce: dpop.nonces.get(server) });
  const sent = dpop.nonces.get(server);
  const answer = await http.send(operation, { ...request, proof });
  const newNonce = dpop.nonces.remember(server, answer.headers['dpop-nonce']) && dpop.nonces.get(server) !== sent;
  if (!newNonce || !options.challenged(answer)) return answer;
  const again = await http.send(operation, { ...request, proof });
  dpop.nonces.remember(server, again.headers['dpop-nonce']);
  return again;
}
