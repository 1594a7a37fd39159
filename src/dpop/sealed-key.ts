import type { Keyring } from '../crypto/keyring.ts';
import { OpenedValues } from '../crypto/opened-values.ts';
import { DecryptionFailedError } from '../errors.ts';
import { type DpopKey, importDpopKey } from './key.ts';

/**
 * The session's DPoP private key as the store keeps it: its JWK sealed like the tokens, in the
 * token set's `dpopKey`, under the associated data `<sid>|dpop`.
 */
export const DPOP_SEAL_FIELD = 'dpop';

export function sealDpopKey(keyring: Keyring, sid: string, privateJwk: string): string {
  return keyring.seal(privateJwk, sid, DPOP_SEAL_FIELD);
}

/**
 * The imported keys of the sessions in use: opening and importing a key costs more than signing
 * a proof, so the imported key is kept per sid (bounded, least recently used first out, the same
 * near cache as the keyring's opened values). A hit needs the very same sealed string; a key
 * reload forgets everything. Any failure to open or import is DecryptionFailedError (the token
 * set is corrupt).
 */
export class DpopKeys {
  readonly #keyring: Keyring;
  readonly #imported: OpenedValues<DpopKey>;
  #generation: number;

  constructor(keyring: Keyring, maxEntries: number) {
    this.#keyring = keyring;
    this.#imported = new OpenedValues<DpopKey>(maxEntries);
    this.#generation = keyring.generation;
  }

  async forSession(sid: string, sealed: string): Promise<DpopKey> {
    if (this.#generation !== this.#keyring.generation) {
      this.#imported.clear();
      this.#generation = this.#keyring.generation;
    }
    const remembered = this.#imported.get(sealed, sid, DPOP_SEAL_FIELD);
    if (remembered !== undefined) return remembered;
    const opened = this.#keyring.open(sealed, sid, DPOP_SEAL_FIELD);
    let key: DpopKey;
    try {
      key = await importDpopKey(opened);
    } catch {
      throw new DecryptionFailedError();
    }
    this.#imported.set(sealed, sid, DPOP_SEAL_FIELD, key);
    return key;
  }
}
