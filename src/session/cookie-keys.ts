import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * Cookie signing keys, in Koa's signed-cookie format (the same as keygrip's with sha256): the
 * signature of `data` is HMAC-SHA256 under the key's UTF-8 bytes, base64url without padding.
 * The first key signs; every key verifies; `index` says which one did.
 *
 * Built once from config: each key becomes a KeyObject, so a verification costs one HMAC per key
 * tried and one constant-time comparison, with no key material converted per call (keygrip
 * hashes both sides again under a random key for its comparison: three HMACs per check).
 * It has keygrip's `sign`/`verify`/`index` shape, so Koa's `app.keys` accepts it too.
 */
export class CookieKeys {
  #keys: readonly KeyObject[];

  constructor(keys: readonly string[]) {
    this.#keys = buildKeys(keys);
  }

  /**
   * Swaps in a new key list (a key reload): one reference is replaced, so a check in progress
   * uses one list throughout. Throws and keeps the current list when the new one is empty.
   */
  replace(keys: readonly string[]): void {
    this.#keys = buildKeys(keys);
  }

  sign(data: string): string {
    return digest(this.#keys[0]!, data);
  }

  verify(data: string, signature: string): boolean {
    return this.index(data, signature) !== -1;
  }

  /** The index of the key that made `signature`, or -1. */
  index(data: string, signature: string): number {
    if (typeof signature !== 'string') return -1;
    const presented = Buffer.from(signature, 'utf8');
    const keys = this.#keys;
    for (let index = 0; index < keys.length; index += 1) {
      const expected = Buffer.from(digest(keys[index]!, data), 'utf8');
      if (presented.length === expected.length && timingSafeEqual(presented, expected)) return index;
    }
    return -1;
  }
}

function digest(key: KeyObject, data: string): string {
  return createHmac('sha256', key).update(data).digest('base64url');
}

function buildKeys(keys: readonly string[]): KeyObject[] {
  if (keys.length === 0) throw new TypeError('cookie signing needs at least one key');
  return keys.map((key) => createSecretKey(Buffer.from(key, 'utf8')));
}
