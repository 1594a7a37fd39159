import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { DecryptionFailedError } from '../errors.ts';
import { OpenedValues } from './opened-values.ts';

/**
 * Sealing with AES-256-GCM under a keyring.
 *
 * Format: `v1.<kid>.<iv>.<ciphertext+tag>`, base64url parts, a fresh random 96-bit IV per seal,
 * associated data `<sid>|<field>` so a value copied into another session or field fails to open
 * (neither may contain `|`, so the pair is unambiguous).
 * The first key seals; every key opens. Any failure to open is the same DecryptionFailedError.
 */

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const MIN_KEY_BYTES = 32;
const B64URL = /^[A-Za-z0-9_-]+$/;

export interface KeySpec {
  kid: string;
  /** base64, base64url or hex; at least 32 bytes once decoded. */
  key: string;
}

/** Decodes key material, or returns a reason it is unusable. Never includes the key in the reason. */
export function decodeKeyMaterial(text: string): Buffer | string {
  const trimmed = text.trim();
  let bytes: Buffer;
  if (/^[0-9a-fA-F]+$/.test(trimmed) && trimmed.length % 2 === 0 && trimmed.length >= 2 * MIN_KEY_BYTES) {
    bytes = Buffer.from(trimmed, 'hex');
  } else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(trimmed)) {
    bytes = Buffer.from(trimmed.replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
  } else {
    return 'key must be base64, base64url or hex';
  }
  if (bytes.length < MIN_KEY_BYTES) return `key must be at least ${MIN_KEY_BYTES} bytes (got ${bytes.length})`;
  return bytes;
}

/** A new random 256-bit key, base64url, for `tokengate keygen`. */
export function generateKey(): string {
  return randomBytes(MIN_KEY_BYTES).toString('base64url');
}

/** The kid a sealed value names (`v1.<kid>...`), or undefined when it is not in the sealed format. Reads no key. */
export function sealedKid(sealed: string): string | undefined {
  const parts = sealed.split('.');
  return parts.length === 4 && parts[0] === VERSION && B64URL.test(parts[1]!) ? parts[1] : undefined;
}

interface KeyState {
  /** KeyObjects, built once: handing node:crypto a raw Buffer makes it build one on every call. */
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly primary: string;
}

export interface KeyringOptions {
  /**
   * Remember this many opened values (the last one per sid and field; see opened-values.ts), so a
   * session's steady state opens its access token once. 0 (the default): every open decrypts.
   */
  openedCacheSize?: number;
}

/**
 * The key list can be replaced while the gateway runs (a key reload, see src/runtime/key-reload.ts):
 * `replace` builds and checks the whole new list first, then swaps one reference, so every seal or
 * open uses one list from start to end and a request in flight is unaffected. A list that fails
 * the checks throws and leaves the current one in place.
 */
export class Keyring {
  #state: KeyState;
  #generation = 0;
  readonly #opened: OpenedValues | undefined;

  constructor(specs: readonly KeySpec[], options: KeyringOptions = {}) {
    this.#state = buildKeys(specs);
    this.#opened = options.openedCacheSize ? new OpenedValues(options.openedCacheSize) : undefined;
  }

  /**
   * Swaps in a new key list atomically; throws (TypeError, no key material) and keeps the old list
   * when it is invalid. The opened values are forgotten: a key that left the list opens nothing more.
   */
  replace(specs: readonly KeySpec[]): void {
    this.#state = buildKeys(specs);
    this.#generation += 1;
    this.#opened?.clear();
  }

  /** Moves at every `replace`: caches of what this keyring opened forget everything then. */
  get generation(): number {
    return this.#generation;
  }

  get primaryKid(): string {
    return this.#state.primary;
  }

  /** Every kid, the sealing one first. */
  get kids(): string[] {
    return [...this.#state.keys.keys()];
  }

  /** True when `sealed` names a kid other than the sealing one (it should be sealed again). */
  sealedWithOldKey(sealed: string): boolean {
    return sealedKid(sealed) !== this.#state.primary;
  }

  seal(plaintext: string, sid: string, field: string): string {
    if (sid.includes('|') || field.includes('|')) throw new TypeError('sid and field must not contain "|"');
    const { keys, primary } = this.#state;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', keys.get(primary)!, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(`${sid}|${field}`, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
    return `${VERSION}.${primary}.${iv.toString('base64url')}.${body.toString('base64url')}`;
  }

  open(sealed: string, sid: string, field: string): string {
    const remembered = this.#opened?.get(sealed, sid, field);
    if (remembered !== undefined) return remembered;
    const opened = this.#decrypt(sealed, sid, field);
    this.#opened?.set(sealed, sid, field, opened);
    return opened;
  }

  #decrypt(sealed: string, sid: string, field: string): string {
    try {
      const parts = sealed.split('.');
      if (parts.length !== 4 || sid.includes('|') || field.includes('|')) throw new Error('parts');
      const [version, kid, ivText, bodyText] = parts as [string, string, string, string];
      const key = this.#state.keys.get(kid);
      if (version !== VERSION || key === undefined || !B64URL.test(ivText) || !B64URL.test(bodyText)) throw new Error('header');
      const iv = Buffer.from(ivText, 'base64url');
      const body = Buffer.from(bodyText, 'base64url');
      if (iv.length !== IV_BYTES || body.length < TAG_BYTES) throw new Error('length');
      const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(`${sid}|${field}`, 'utf8'));
      decipher.setAuthTag(body.subarray(body.length - TAG_BYTES));
      return Buffer.concat([decipher.update(body.subarray(0, body.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new DecryptionFailedError();
    }
  }
}

function buildKeys(specs: readonly KeySpec[]): KeyState {
  if (specs.length === 0) throw new TypeError('a keyring needs at least one key');
  const keys = new Map<string, KeyObject>();
  for (const spec of specs) {
    if (!B64URL.test(spec.kid)) throw new TypeError(`invalid kid "${spec.kid}"`);
    if (keys.has(spec.kid)) throw new TypeError(`duplicate kid "${spec.kid}"`);
    const material = decodeKeyMaterial(spec.key);
    if (typeof material === 'string') throw new TypeError(`key "${spec.kid}": ${material}`);
    // Domain-separate the configured secret from the AES key actually used.
    keys.set(spec.kid, createSecretKey(Buffer.from(hkdfSync('sha256', material, Buffer.alloc(0), 'tokengate seal v1', 32))));
  }
  return { keys, primary: specs[0]!.kid };
}
