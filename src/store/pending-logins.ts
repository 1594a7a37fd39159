import type { PendingLoginAdmission, PendingLoginLimits } from './types.ts';

/**
 * The memory store's pending-login counts: every pending login by start time (a Map keeps
 * insertion order, and logins start in time order), and per client address. Entries older than
 * the TTL are dropped from the front before each check, so what is held is bounded by
 * `limits.total` whatever the rate of new logins.
 */
export class PendingLogins {
  readonly #now: () => number;
  readonly #all = new Map<string, { address: string; startedAt: number }>();
  readonly #byAddress = new Map<string, Map<string, number>>();

  constructor(now: () => number) {
    this.#now = now;
  }

  admit(id: string, address: string, limits: PendingLoginLimits, ttlMs: number): PendingLoginAdmission {
    const now = this.#now();
    this.#dropOlderThan(now - ttlMs);
    const mine = this.#byAddress.get(address);
    if (mine !== undefined && mine.size >= limits.perAddress) {
      return { admitted: false, limit: 'address', retryAfterMs: retryAfter(mine.values().next().value!, ttlMs, now) };
    }
    if (this.#all.size >= limits.total) {
      return { admitted: false, limit: 'total', retryAfterMs: retryAfter(this.#all.values().next().value!.startedAt, ttlMs, now) };
    }
    this.release(id, address);
    this.#all.set(id, { address, startedAt: now });
    if (mine === undefined) this.#byAddress.set(address, new Map([[id, now]]));
    else mine.set(id, now);
    return { admitted: true };
  }

  release(id: string, address: string): void {
    if (!this.#all.delete(id)) return;
    const mine = this.#byAddress.get(address);
    mine?.delete(id);
    if (mine?.size === 0) this.#byAddress.delete(address);
  }

  clear(): void {
    this.#all.clear();
    this.#byAddress.clear();
  }

  #dropOlderThan(cutoff: number): void {
    for (const [id, entry] of this.#all) {
      if (entry.startedAt > cutoff) return;
      this.release(id, entry.address);
    }
  }
}

function retryAfter(startedAt: number, ttlMs: number, now: number): number {
  return Math.max(1, Math.ceil(startedAt + ttlMs - now));
}
