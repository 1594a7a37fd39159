import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.ts';
import { LockLease } from '../../src/tokens/lock-lease.ts';
import { FakeClock } from '../support/fake-clock.ts';

/** The lease and the store's lock expiry run on one clock that the test moves by hand. */
function setup() {
  const clock = new FakeClock(Date.now());
  const store = new MemoryStore({ now: () => clock.now() });
  return { clock, store };
}

describe('refresh lock lease', () => {
  it('is renewed while held, so a slow refresh keeps it past the lease', async () => {
    const { clock, store } = setup();
    const lease = await LockLease.acquire(store, 'sid-a', 'owner-1', 150, { clock });
    expect(lease).toBeDefined();
    await clock.advance(450);
    expect(await store.acquireLock('sid-a', 'owner-2', 150)).toBe(false);
    expect(lease!.lost).toBe(false);
    await lease!.release();
    expect(clock.pending).toBe(0);
    expect(await store.acquireLock('sid-a', 'owner-2', 150)).toBe(true);
    await store.close();
  });

  it('without renewals the same lock lapses after the lease', async () => {
    const { clock, store } = setup();
    expect(await store.acquireLock('sid-a', 'owner-1', 150)).toBe(true);
    await clock.advance(450);
    expect(await store.acquireLock('sid-a', 'owner-2', 150)).toBe(true);
    await store.close();
  });

  it('is not taken while another owner holds the lock', async () => {
    const { clock, store } = setup();
    expect(await store.acquireLock('sid-b', 'other', 1_000)).toBe(true);
    expect(await LockLease.acquire(store, 'sid-b', 'owner-1', 1_000, { clock })).toBeUndefined();
    expect(clock.pending).toBe(0);
    await store.close();
  });

  it('notices when the lock was taken from it', async () => {
    const { clock, store } = setup();
    const lease = await LockLease.acquire(store, 'sid-c', 'owner-1', 90, { clock });
    await store.releaseLock('sid-c', 'owner-1');
    expect(await store.acquireLock('sid-c', 'thief', 5_000)).toBe(true);
    expect(lease!.lost).toBe(false);
    await clock.advance(30);
    expect(lease!.lost).toBe(true);
    expect(clock.pending).toBe(0);
    await lease!.release();
    expect(await store.acquireLock('sid-c', 'owner-2', 1_000)).toBe(false);
    await store.close();
  });

  it('parked, stops renewing and lapses one lease later', async () => {
    const { clock, store } = setup();
    const lease = await LockLease.acquire(store, 'sid-d', 'owner-1', 300, { clock });
    await lease!.park();
    expect(clock.pending).toBe(0);
    await clock.advance(299);
    expect(await store.acquireLock('sid-d', 'owner-2', 300)).toBe(false);
    await clock.advance(2);
    expect(await store.acquireLock('sid-d', 'owner-2', 300)).toBe(true);
    await store.close();
  });
});
