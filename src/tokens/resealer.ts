import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Keyring } from '../crypto/keyring.ts';
import type { Store, StoredTokenSet } from '../store/types.ts';
import { SingleFlight } from './single-flight.ts';
import { resealTokenSet, sealedWithOldKey } from './token-set.ts';

/**
 * Moves a token set that was read with a field sealed under an older key to the current sealing
 * key (after a key rotation), in the background of the request that read it.
 *
 * The write is the normal compare-and-set on the `ver` the set was read at, and it is made
 * while holding the session's refresh lock, taken without waiting: a refresh in flight holds
 * that lock, and a re-seal that slipped in between its read and its compare-and-set would make
 * the refresh find its own refresh token stored under a newer `ver` and throw away the token set
 * the provider just issued (with rotation, the only copy of the new refresh token). So: lock
 * taken, or skip (the next read tries again); `ver` still the one read, or skip. The value
 * written holds the very tokens that were read, so it can never restore an older refresh token.
 * One re-seal per session at a time in this process; failures are logged and dropped (the old
 * sealing still opens).
 */
export class Resealer {
  readonly #store: Store;
  readonly #keyring: Keyring;
  readonly #logger: Logger | undefined;
  readonly #tag: (sid: string) => string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #flights = new SingleFlight<boolean>();

  constructor(options: { store: Store; keyring: Keyring; logger: Logger | undefined; tag: (sid: string) => string; instanceId: string; leaseMs: number }) {
    this.#store = options.store;
    this.#keyring = options.keyring;
    this.#logger = options.logger;
    this.#tag = options.tag;
    this.#owner = `${options.instanceId}:reseal`;
    this.#leaseMs = options.leaseMs;
  }

  /** Starts a background re-seal when `stored` has a field under an older key; never throws. */
  resealIfOld(sid: string, stored: StoredTokenSet): void {
    if (!sealedWithOldKey(this.#keyring, stored)) return;
    this.#flights.start(sid, () => this.#reseal(sid, stored));
  }

  /** Resolves once no re-seal runs in this process (shutdown). */
  idle(): Promise<void> {
    return this.#flights.idle();
  }

  async #reseal(sid: string, read: StoredTokenSet): Promise<boolean> {
    const owner = `${this.#owner}:${randomUUID()}`;
    try {
      if (!(await this.#store.acquireLock(sid, owner, this.#leaseMs))) return false;
      try {
        const next = resealTokenSet(this.#keyring, sid, read);
        const written = await this.#store.compareAndSetTokens(sid, read.ver, next);
        if (written.ok) this.#logger?.debug({ event: 'token_set_resealed', session: this.#tag(sid), kid: this.#keyring.primaryKid, ver: written.ver }, 'token set sealed again under the current key');
        return written.ok;
      } finally {
        await this.#store.releaseLock(sid, owner);
      }
    } catch (err) {
      this.#logger?.warn({ event: 'token_set_reseal_failed', session: this.#tag(sid), err: err instanceof Error ? { type: err.name, code: (err as { code?: unknown }).code } : String(err) }, 'could not seal a token set again under the current key; it still opens under its old key');
      return false;
    }
  }
}
