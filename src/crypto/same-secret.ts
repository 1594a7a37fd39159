import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Constant-time equality of two strings of any length, for secrets and one-use values (OAuth
 * state, OIDC nonce, a shared secret header, the CSRF header). Both sides are hashed first, so
 * neither the length nor a common prefix shows in the timing.
 */
export function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * A secret compared against many candidates (the CSRF header value): sameSecret with the
 * secret's own digest computed once, so each comparison hashes only the candidate.
 */
export class KnownSecret {
  readonly #digest: Buffer;

  constructor(secret: string) {
    this.#digest = digest(secret);
  }

  matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.#digest);
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
