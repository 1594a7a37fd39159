import { createHmac, createSecretKey, hkdfSync, type KeyObject } from 'node:crypto';
import { sameSecret } from '../crypto/same-secret.ts';

/**
 * Opaque handles for a user's sessions in GET /auth/sessions: HMAC-SHA256 of the sid under a key
 * derived (HKDF-SHA256, info `tokengate session handle v1`) from each cookie signing key,
 * truncated to 128 bits, base64url (22 characters). Stable for as long as the key is, not
 * reversible, and useless as a cookie (a session cookie is the sid itself, signed). The first
 * key makes handles; a handle made under any configured key is recognised, so a key rotation
 * between listing and logging out still finds the session.
 */

const HANDLE = /^[A-Za-z0-9_-]{22}$/;
const HANDLE_BYTES = 16;

export class SessionHandles {
  readonly #keys: readonly KeyObject[];

  constructor(cookieKeys: readonly string[]) {
    if (cookieKeys.length === 0) throw new TypeError('session handles need at least one key');
    this.#keys = cookieKeys.map((key) =>
      createSecretKey(Buffer.from(hkdfSync('sha256', Buffer.from(key, 'utf8'), Buffer.alloc(0), 'tokengate session handle v1', 32))),
    );
  }

  /** The handle of a session, under the first key. */
  of(sid: string): string {
    return digest(this.#keys[0]!, sid);
  }

  /** The sid among `sids` that `handle` names (under any key), or undefined. */
  find(handle: string, sids: Iterable<string>): string | undefined {
    if (typeof handle !== 'string' || !HANDLE.test(handle)) return undefined;
    for (const sid of sids) {
      if (this.#keys.some((key) => sameSecret(digest(key, sid), handle))) return sid;
    }
    return undefined;
  }
}

function digest(key: KeyObject, sid: string): string {
  return createHmac('sha256', key).update(sid, 'utf8').digest().subarray(0, HANDLE_BYTES).toString('base64url');
}
