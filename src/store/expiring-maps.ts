/**
 * The memory store's data: string values and sets, each entry with an expiry (epoch ms on the
 * injected clock). An expired entry is dropped when read, and by sweep().
 *
 * The sweep is time-ordered: every entry is filed in the bucket of its expiry (one bucket per
 * `bucketMs`), and sweep() visits only the buckets whose time has passed, so it drops everything
 * expired in O(expired + buckets passed), however many live entries there are and however fast
 * new ones arrive. An entry whose `expiresAt` was moved later in place (a sliding session, a
 * renewed lock) is found in its old bucket and filed again in its new one; an entry deleted or
 * replaced before its bucket comes up is skipped there. (One moved earlier in place is dropped
 * when its old bucket comes up; a read sees it expire on time either way.)
 *
 * `onExpired` hears about every string entry dropped because it expired (on read or by the
 * sweep), so the store can drop what points at it (a session's index entries).
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

type Filed = [kind: 'string' | 'set', key: string, entry: Expiring];

export interface ExpiringMapsOptions {
  /** Width of one expiry bucket. Default 1 s. */
  bucketMs?: number;
  onExpired?: (key: string, value: string) => void;
}

export class ExpiringMaps {
  readonly #now: () => number;
  readonly #bucketMs: number;
  readonly #onExpired: (key: string, value: string) => void;
  readonly #strings = new Map<string, StringEntry>();
  readonly #sets = new Map<string, SetEntry>();
  /** Bucket number (floor(expiresAt / bucketMs)) → entries filed there. */
  readonly #buckets = new Map<number, Filed[]>();
  /** Every bucket below this one has been swept (it is the one the last sweep's clock was in). */
  #sweptBelow: number | undefined;

  constructor(now: () => number, options: ExpiringMapsOptions = {}) {
    this.#now = now;
    this.#bucketMs = options.bucketMs ?? 1_000;
    this.#onExpired = options.onExpired ?? (() => undefined);
  }

  /** Entries held, live or expired but not yet dropped. */
  get size(): number {
    return this.#strings.size + this.#sets.size;
  }

  /** The live entry; its `value` may be changed in place, and its `expiresAt` moved later. */
  get(key: string): StringEntry | undefined {
    const entry = this.#strings.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#strings.delete(key);
      this.#onExpired(key, entry.value);
      return undefined;
    }
    return entry;
  }

  set(key: string, value: string, ttlMs: number): void {
    const entry = { value, expiresAt: this.#now() + ttlMs };
    this.#strings.set(key, entry);
    this.#file('string', key, entry);
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
    const expiresAt = Math.max(entry.expiresAt, now + ttlMs);
    if (expiresAt !== entry.expiresAt) {
      entry.expiresAt = expiresAt;
      this.#file('set', key, entry);
    }
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

  /** Drops every expired entry; returns how many it dropped. */
  sweep(): number {
    const now = this.#now();
    const current = this.#bucketOf(now);
    let dropped = 0;
    for (let bucket = this.#sweptBelow ?? current; bucket <= current; bucket += 1) {
      const filed = this.#buckets.get(bucket);
      if (filed === undefined) continue;
      this.#buckets.delete(bucket);
      // The current bucket is only partly in the past: what is not due yet stays in it.
      const notYet: Filed[] = [];
      for (const item of filed) {
        const [kind, key, entry] = item;
        const map: Map<string, Expiring> = kind === 'string' ? this.#strings : this.#sets;
        // Deleted or replaced since it was filed: its successor is filed on its own.
        if (map.get(key) !== entry) continue;
        if (entry.expiresAt > now) {
          if (this.#bucketOf(entry.expiresAt) === current) notYet.push(item);
          else this.#file(kind, key, entry);
          continue;
        }
        map.delete(key);
        dropped += 1;
        if (kind === 'string') this.#onExpired(key, (entry as StringEntry).value);
      }
      if (notYet.length > 0) this.#buckets.set(current, [...notYet, ...(this.#buckets.get(current) ?? [])]);
    }
    this.#sweptBelow = Math.max(this.#sweptBelow ?? current, current);
    return dropped;
  }

  clear(): void {
    this.#strings.clear();
    this.#sets.clear();
    this.#buckets.clear();
    this.#sweptBelow = undefined;
  }

  #bucketOf(time: number): number {
    return Math.floor(time / this.#bucketMs);
  }

  #file(kind: 'string' | 'set', key: string, entry: Expiring): void {
    const bucket = this.#bucketOf(entry.expiresAt);
    let filed = this.#buckets.get(bucket);
    if (filed === undefined) {
      filed = [];
      this.#buckets.set(bucket, filed);
    }
    filed.push([kind, key, entry]);
    if (this.#sweptBelow === undefined || bucket < this.#sweptBelow) this.#sweptBelow = bucket;
  }
}
