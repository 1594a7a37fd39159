import type { Logger } from 'pino';
import type { Store } from '../store/types.ts';
import { type Clock, backgroundClock } from '../clock.ts';

export interface LockLeaseOptions {
  logger?: Logger | undefined;
  clock?: Clock;
}

/**
 * The cross-replica refresh lock of one session, held by one owner id. While held, the lease is
 * renewed every `leaseMs / 3` so a slow provider call does not let it lapse. `lost` turns true
 * when a renewal finds the lock owned by someone else (or gone): the compare-and-set that
 * follows is then the only guard, and a conflict there is treated as a reuse incident.
 * Renewals run on `clock` (default the system's timers).
 */
export class LockLease {
  readonly #store: Store;
  readonly #sid: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #logger: Logger | undefined;
  readonly #clock: Clock;
  #stopRenewing: (() => void) | undefined;
  #lost = false;
  #released = false;
  #call: AbortController | undefined;

  private constructor(store: Store, sid: string, owner: string, leaseMs: number, options: LockLeaseOptions) {
    this.#store = store;
    this.#sid = sid;
    this.#owner = owner;
    this.#leaseMs = leaseMs;
    this.#logger = options.logger;
    this.#clock = options.clock ?? backgroundClock;
  }

  /** Takes the lock if it is free; returns the lease, or undefined when another owner holds it. */
  static async acquire(store: Store, sid: string, owner: string, leaseMs: number, options: LockLeaseOptions = {}): Promise<LockLease | undefined> {
    if (!(await store.acquireLock(sid, owner, leaseMs))) return undefined;
    const lease = new LockLease(store, sid, owner, leaseMs, options);
    lease.#startRenewing();
    return lease;
  }

  get lost(): boolean {
    return this.#lost;
  }

  /**
   * Runs the provider call of this refresh, abortable by `abortCall` (shutdown). While it runs,
   * `callInFlight` is true.
   */
  async runCall<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.#call = controller;
    try {
      return await call(controller.signal);
    } finally {
      this.#call = undefined;
    }
  }

  get callInFlight(): boolean {
    return this.#call !== undefined;
  }

  abortCall(): void {
    this.#call?.abort();
  }

  /**
   * Stops renewing and leaves the lock in place for `ms` (default one full lease), then it lapses
   * by itself. Used when a refresh call may have reached the provider without its answer reaching
   * us (no replica may send the same refresh token again before that lease is over), and to back
   * off after a failed refresh. Never throws.
   */
  async park(ms = this.#leaseMs): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stop();
    try {
      await this.#store.renewLock(this.#sid, this.#owner, ms);
    } catch (err) {
      this.#logger?.warn({ event: 'refresh_lock_renew_failed', errorCode: (err as { code?: string }).code }, 'could not renew the refresh lock');
    }
  }

  #startRenewing(): void {
    const every = Math.max(1, Math.floor(this.#leaseMs / 3));
    this.#stopRenewing = this.#clock.every(every, () => void this.#renew());
  }

  async #renew(): Promise<void> {
    if (this.#released || this.#lost) return;
    try {
      const kept = await this.#store.renewLock(this.#sid, this.#owner, this.#leaseMs);
      if (!kept && !this.#released) {
        this.#lost = true;
        this.#stop();
        this.#logger?.warn({ event: 'refresh_lock_lost' }, 'refresh lock lease lapsed while refreshing');
      }
    } catch (err) {
      // The store is unreachable: the lease may lapse. Keep trying; the CAS still guards the write.
      this.#logger?.warn({ event: 'refresh_lock_renew_failed', errorCode: (err as { code?: string }).code }, 'could not renew the refresh lock');
    }
  }

  #stop(): void {
    this.#stopRenewing?.();
    this.#stopRenewing = undefined;
  }

  /** Stops renewing and releases the lock if this owner still holds it. Never throws. */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    this.#stop();
    try {
      await this.#store.releaseLock(this.#sid, this.#owner);
    } catch (err) {
      // The lease expires by itself; a release that cannot reach the store changes nothing else.
      this.#logger?.warn({ event: 'refresh_lock_release_failed', errorCode: (err as { code?: string }).code }, 'could not release the refresh lock; it will expire');
    }
  }
}

/**
 * Shutdown: releases the leases whose provider call is not under way; the others' calls are
 * aborted and their locks parked for one more lease (the provider may still redeem a refresh
 * token they sent). Resolves with how many were released and parked. Never throws.
 */
export async function releaseOrPark(leases: readonly LockLease[]): Promise<{ released: number; parked: number }> {
  const sent = leases.filter((lease) => lease.callInFlight);
  const idle = leases.filter((lease) => !lease.callInFlight);
  for (const lease of sent) lease.abortCall();
  await Promise.all([...idle.map((lease) => lease.release()), ...sent.map((lease) => lease.park())]);
  return { released: idle.length, parked: sent.length };
}
