/**
 * The memory store's data: string values and sets, each entry with an expiry (epoch ms on the
 * injected clock). An expired entry is dropped when read; sweep() drops up to a budget of
 * expired entries per call and resumes where the previous call stopped, so its work is bounded
 * whatever the number of entries.
 */

interface Expiring {
  expiresAt: number;
}

export interface StringEntry extends Expiring {
  value: string;
}

interface SetEntry extends Expiring {
  members: Set<string>;
}

type Cursor = Iterator<[Map<string, Expiring>, string, Expiring]>;

function* entriesOf(maps: readonly Map<string, Expiring>[]): Generator<[Map<string, Expiring>, string, Expiring]> {
  for (const map of maps) {
    for (const [key, entry] of map) yield [map, key, entry];
  }
}

export class ExpiringMaps {
  readonly #now: () => number;
  readonly #strings = new Map<string, StringEntry>();
  readonly #sets = new Map<string, SetEntry>();
  #cursor: Cursor | undefined;

  constructor(now: () => number, _o?: unknown) {
    this.#now = now;
  }

  /** The live entry; its `value` and `expiresAt` may be changed in place. */
  get(key: string): StringEntry | undefined {
    const entry = this.#strings.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#strings.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: string, ttlMs: number): void {
    // Delete first so a rewritten key moves to the end of the sweep order, like a new one.
    this.#strings.delete(key);
    this.#strings.set(key, { value, expiresAt: this.#now() + ttlMs });
  }

  delete(...keys: string[]): void {
    for (const key of keys) this.#strings.delete(key);
  }

  /** Adds to a set; the set then lives at least `ttlMs` from now. */
  addMember(key: string, member: string, ttlMs: number): void {
    const now = this.#now();
    let entry = this.#sets.get(key);
    if (!entry || entry.expiresAt <= now) {
      entry = { members: new Set(), expiresAt: now };
      this.#sets.set(key, entry);
    }
    entry.members.add(member);
    entry.expiresAt = Math.max(entry.expiresAt, now + ttlMs);
  }

  removeMember(key: string, member: string): void {
    const entry = this.#sets.get(key);
    if (!entry) return;
    entry.members.delete(member);
    if (entry.members.size === 0) this.#sets.delete(key);
  }

  /** A copy of the live set's members (empty when there is none). */
  members(key: string): string[] {
    const entry = this.#sets.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#sets.delete(key);
      return [];
    }
    return entry ? [...entry.members] : [];
  }

  /** Drops up to `budget` expired entries; returns how many it dropped. */
  sweep(budget: number): number {
    const now = this.#now();
    let dropped = 0;
    for (let left = budget; left > 0; left -= 1) {
      this.#cursor ??= entriesOf([this.#strings, this.#sets]);
      const next = this.#cursor.next();
      if (next.done) {
        this.#cursor = undefined;
        break;
      }
      const [map, key, entry] = next.value;
      if (entry.expiresAt <= now) {
        map.delete(key);
        dropped += 1;
      }
    }
    return dropped;
  }

  get size(): number { return this.#strings.size + this.#sets.size; }
  clear(): void {
    this.#cursor = undefined;
    this.#strings.clear();
    this.#sets.clear();
  }
}
