/**
 * The DPoP nonces servers gave (RFC 9449 section 8 and 9), one per server: per provider for its
 * token endpoint, per upstream origin for resource requests. The latest one a server sent is
 * used in the next proof to it. Servers come from the configuration, so the map is small; it is
 * bounded all the same (oldest first out), and a nonce must be a short run of the characters the
 * RFC allows (NQCHAR), else it is ignored.
 */

const NONCE = /^[\x21\x23-\x5b\x5d-\x7e]{1,256}$/;
const MAX_SERVERS = 256;

export class DpopNonces {
  readonly #nonces = new Map<string, string>();

  get(server: string): string | undefined {
    return this.#nonces.get(server);
  }

  /** Keeps the `DPoP-Nonce` header value of a response from `server`; true when it is a usable nonce. */
  remember(server: string, header: string | string[] | undefined): boolean {
    if (typeof header !== 'string' || !NONCE.test(header)) return false;
    if (this.#nonces.get(server) === header) return true;
    this.#nonces.delete(server);
    this.#nonces.set(server, header);
    if (this.#nonces.size > MAX_SERVERS) this.#nonces.delete(this.#nonces.keys().next().value as string);
    return true;
  }
}

/** True for a `WWW-Authenticate` that asks for a DPoP nonce (`DPoP error="use_dpop_nonce"`). */
export function asksForNonce(wwwAuthenticate: string | string[] | undefined): boolean {
  const values = typeof wwwAuthenticate === 'string' ? [wwwAuthenticate] : (wwwAuthenticate ?? []);
  return values.some((value) => /\bDPoP\b/i.test(value) && /\berror\s*=\s*"?use_dpop_nonce"?/i.test(value));
}
