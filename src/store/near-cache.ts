import type { SessionBundle, SessionRecord, StoredTokenSet } from './types.ts';

/**
 * A bounded LRU of session bundles (session record + sealed token set) in process memory, keyed
 * by sid, for the Redis store's near cache (cached-store.ts). It knows nothing of Redis: it
 * answers hits, takes entries from reads, and drops entries on invalidation.
 *
 * A read that was in flight when its sid was invalidated (or when the whole cache was flushed)
 * may carry the state from before the write: it is never stored. Each read through takes a
 * ticket at its start; `invalidate` and `clear` spoil the tickets of that sid (or of all sids),
 * and `settle` stores only with an unspoiled ticket. A stored token set never replaces a newer
 * `ver` with an older one.
 */

export interface CachedEntry {
  session: SessionRecord;
  tokens: StoredTokenSet | null;
  /** Epoch ms (store clock) when this replica last slid the Redis TTL. */
  slidAt: number;
  /** Epoch ms (store clock) before which the Redis keys are known to exist, unless deleted (invalidated). */
  keyExpiresAt: number;
  /** The idle TTL the keys were slid with. */
  idleTtlMs: number;
}

export interface ReadTicket {
  readonly sid: string;
  spoiled: boolean;
}

export class NearCache {
  readonly #maxEntries: number;
  /** Map iteration order is insertion order: the first key is the least recently used. */
  readonly #entries = new Map<string, CachedEntry>();
  readonly #inflight = new Map<string, Set<ReadTicket>>();

  constructor(maxEntries: number) {
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    this.#maxEntries = maxEntries;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entry for sid, marked most recently used; undefined on a miss. */
  get(sid: string): CachedEntry | undefined {
    const entry = this.#entries.get(sid);
    if (entry === undefined) return undefined;
    this.#entries.delete(sid);
    this.#entries.set(sid, entry);
    return entry;
  }

  /** Starts a read through for sid. Every ticket must be settled (or abandoned) exactly once. */
  begin(sid: string): ReadTicket {
    const ticket: ReadTicket = { sid, spoiled: false };
    let tickets = this.#inflight.get(sid);
    if (tickets === undefined) {
      tickets = new Set();
      this.#inflight.set(sid, tickets);
    }
    tickets.add(ticket);
    return ticket;
  }

  /**
   * Ends a read through. Stores `entry` (null: the session is gone, nothing is stored) only if
   * no invalidation or flush happened since `begin`. Returns whether it was stored.
   */
  settle(ticket: ReadTicket, entry: CachedEntry | null): boolean {
    this.#release(ticket);
    if (ticket.spoiled || entry === null) {
      if (entry === null) this.#entries.delete(ticket.sid);
      return false;
    }
    const current = this.#entries.get(ticket.sid);
    if (current?.tokens && (entry.tokens === null || entry.tokens.ver < current.tokens.ver)) {
      // A newer token set is already here: keep it; the read's slide still counts.
      entry = { ...entry, tokens: current.tokens };
    }
    this.#entries.delete(ticket.sid);
    this.#entries.set(ticket.sid, entry);
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    return true;
  }

  /** Ends a read through that failed: nothing is stored, and what was cached for sid is dropped. */
  abandon(ticket: ReadTicket): void {
    this.#release(ticket);
    this.#entries.delete(ticket.sid);
  }

  /** Drops sid and spoils the reads of sid in flight. */
  invalidate(sid: string): void {
    this.#entries.delete(sid);
    const tickets = this.#inflight.get(sid);
    if (tickets !== undefined) for (const ticket of tickets) ticket.spoiled = true;
  }

  /** Drops the cached sessions of one user (a logout everywhere on this replica). */
  invalidateUser(provider: string, sub: string): void {
    for (const [sid, entry] of this.#entries) {
      if (entry.session.provider === provider && entry.session.sub === sub) this.invalidate(sid);
    }
  }

  /** Drops everything and spoils every read in flight. */
  clear(): void {
    this.#entries.clear();
    for (const tickets of this.#inflight.values()) for (const ticket of tickets) ticket.spoiled = true;
  }

  #release(ticket: ReadTicket): void {
    const tickets = this.#inflight.get(ticket.sid);
    if (tickets === undefined) return;
    tickets.delete(ticket);
    if (tickets.size === 0) this.#inflight.delete(ticket.sid);
  }
}

/** A copy of a cached bundle that no caller shares with the cache (records are plain JSON data). */
export function bundleOf(entry: SessionBundle): SessionBundle {
  const { claims, ...session } = entry.session;
  return { session: { ...session, claims: { ...claims } }, tokens: entry.tokens === null ? null : { ...entry.tokens } };
}
