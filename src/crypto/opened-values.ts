/**
 * The near cache of opened values: what `Keyring.open` answered for the last sealed value of each
 * (sid, field), so that the steady state of a session opens its access token once, not once per
 * request. Bounded (least recently used first out), in process memory only, never logged.
 *
 * A hit needs the very same sealed string (its random IV makes it unique), opened for the same sid
 * and field, so it answers exactly what opening would: a refreshed token set is a new sealed
 * string and misses; a ciphertext copied into another session or field misses and is opened (and
 * fails) as it would without this cache. Only successful opens are kept. What a value opens to
 * is a string for the keyring, and an imported key for the DPoP keys (src/dpop/sealed-key.ts).
 *
 * An entry of a session that ended lingers until it is pushed out. That exposes nothing new: the
 * same process memory holds the keyring, which opens the sealed values the store caches anyway.
 */
export class OpenedValues<T = string> {
  readonly #maxEntries: number;
  /** `<sid>|<field>` → the sealed value and what it opened to; insertion order is recency. */
  readonly #entries = new Map<string, { sealed: string; opened: T }>();

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(sealed: string, sid: string, field: string): T | undefined {
    const name = `${sid}|${field}`;
    const entry = this.#entries.get(name);
    if (entry === undefined || entry.sealed !== sealed) return undefined;
    this.#entries.delete(name);
    this.#entries.set(name, entry);
    return entry.opened;
  }

  /** Forgets everything (a key reload: a removed key must stop opening, even from here). */
  clear(): void {
    this.#entries.clear();
  }

  set(sealed: string, sid: string, field: string, opened: T): void {
    const name = `${sid}|${field}`;
    this.#entries.delete(name);
    this.#entries.set(name, { sealed, opened });
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}
