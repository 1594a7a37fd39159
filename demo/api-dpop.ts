import { hash, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { calculateJwkThumbprint, EmbeddedJWK, jwtVerify } from 'jose';

/**
 * The sample API's check of a DPoP-bound access token (RFC 9449 section 7), with `jose`: the
 * proof is a `dpop+jwt` signed by the key in its own header (ES256), that key's thumbprint is the
 * token's `cnf.jkt` (from introspection), `htm` and `htu` name this very request, `ath` is the
 * hash of the token it came with, `iat` is within a minute, and its `jti` was never seen before.
 * With `requireNonce`, the proof must also carry the API's current nonce (`use_dpop_nonce`
 * otherwise, with the nonce in `DPoP-Nonce`).
 */

export type DpopVerdict = { ok: true } | { ok: false; error: 'invalid_dpop_proof' | 'use_dpop_nonce' };

const IAT_WINDOW_S = 60;
const MAX_JTIS = 100_000;

export class DpopChecker {
  readonly requireNonce: boolean;
  #nonce = randomBytes(16).toString('base64url');
  /** Proof ids already used, oldest first (bounded). */
  readonly #seen = new Set<string>();

  constructor(options: { requireNonce?: boolean } = {}) {
    this.requireNonce = options.requireNonce ?? false;
  }

  get nonce(): string {
    return this.#nonce;
  }

  /** A new nonce: proofs with the old one get `use_dpop_nonce`. */
  rotateNonce(): void {
    this.#nonce = randomBytes(16).toString('base64url');
  }

  async check(req: IncomingMessage, url: URL, accessToken: string, jkt: string): Promise<DpopVerdict> {
    const proof = req.headers.dpop;
    if (typeof proof !== 'string') return { ok: false, error: 'invalid_dpop_proof' };
    let payload: Record<string, unknown>;
    let jwk: Parameters<typeof calculateJwkThumbprint>[0];
    try {
      const verified = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      payload = verified.payload;
      jwk = verified.protectedHeader.jwk!;
    } catch {
      return { ok: false, error: 'invalid_dpop_proof' };
    }
    const iat = payload['iat'];
    const jti = payload['jti'];
    const fresh = typeof iat === 'number' && Math.abs(Date.now() / 1000 - iat) <= IAT_WINDOW_S;
    const bound =
      payload['htm'] === req.method &&
      payload['htu'] === `${url.origin}${url.pathname}` &&
      payload['ath'] === hash('sha256', accessToken, 'base64url') &&
      (await calculateJwkThumbprint(jwk)) === jkt;
    if (!fresh || !bound || typeof jti !== 'string' || this.#seen.has(jti)) return { ok: false, error: 'invalid_dpop_proof' };
    if (this.requireNonce && payload['nonce'] !== this.#nonce) return { ok: false, error: 'use_dpop_nonce' };
    this.#seen.add(jti);
    if (this.#seen.size > MAX_JTIS) this.#seen.delete(this.#seen.values().next().value as string);
    return { ok: true };
  }
}
