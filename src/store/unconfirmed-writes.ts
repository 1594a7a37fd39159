/**
 * Token writes whose replication was not confirmed (replicated-writes.ts), remembered for a
 * while in this process so that the Redis store can write one again if a failover lost it: when
 * a later read of the session finds exactly the token set that write replaced (same `ver`, same
 * bytes), Redis went back to before the write, and the remembered value (sealed, as stored) is
 * written again by compare-and-set on that value. Anything else found (a later write, another
 * replica's refresh, no token set) means the write is no longer the latest word: it is forgotten.
 *
 * Bounded: an entry lives `rememberMs` (one refresh-lock lease: past it another replica may
 * refresh anyway), and at most `maxEntries` are kept (oldest dropped first).
 */

export interface UnconfirmedWrite {
  /** The `ver` of the token set the write replaced. */
  replacedVer: number;
  /** SHA-1 (hex) of the stored value it replaced. */
  replacedSha: string;
  /** The value it wrote (sealed token set). */
  value: string;
}

interface Entry extends UnconfirmedWrite {
  /** performance.now() after which the entry is dropped. */
  until: number;
}

export class UnconfirmedWrites {
  readonly #entries = new Map<string, Entry>();
  readonly #rememberMs: number;
  readonly #maxEntries: number;

  constructor(rememberMs: number, maxEntries = 10_000) {
    this.#rememberMs = rememberMs;
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  remember(sid: string, write: UnconfirmedWrite): void {
    const now = performance.now();
    this.#entries.delete(sid);
    this.#entries.set(sid, { ...write, until: now + this.#rememberMs });
    // Insertion order is expiry order: drop from the front what has expired or is over the bound.
    for (const [key, entry] of this.#entries) {
      if (entry.until > now && this.#entries.size <= this.#maxEntries) break;
      this.#entries.delete(key);
    }
  }

  forget(sid: string): void {
    this.#entries.delete(sid);
  }

  /** The write to restore when a read found `ver` for sid: only the `ver` that write replaced. */
  restorable(sid: string, ver: number | undefined): UnconfirmedWrite | undefined {
    const entry = this.#entries.get(sid);
    if (entry === undefined) return undefined;
    if (entry.until <= performance.now()) {
      this.#entries.delete(sid);
      return undefined;
    }
    return ver === entry.replacedVer ? entry : undefined;
  }
}
