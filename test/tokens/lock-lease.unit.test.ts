import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.ts';
import { LockLease } from '../../src/tokens/lock-lease.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('refresh lock lease', () => {
  it('is renewed while held, so a slow refresh keeps it past the lease', async () => {
    const store = new MemoryStore();
    const lease = await LockLease.acquire(store, 'sid-a', 'owner-1', 150);
    expect(lease).toBeDefined();
    await sleep(450);
    expect(await store.acquireLock('sid-a', 'owner-2', 150)).toBe(false);
    expect(lease!.lost).toBe(false);
    await lease!.release();
    expect(await store.acquireLock('sid-a', 'owner-2', 150)).toBe(true);
    await store.close();
  });

  it('is not taken while another owner holds the lock', async () => {
    const store = new MemoryStore();
    expect(await store.acquireLock('sid-b', 'other', 1_000)).toBe(true);
    expect(await LockLease.acquire(store, 'sid-b', 'owner-1', 1_000)).toBeUndefined();
    await store.close();
  });

  it('notices when the lock was taken from it', async () => {
    const store = new MemoryStore();
    const lease = await LockLease.acquire(store, 'sid-c', 'owner-1', 90);
    await store.releaseLock('sid-c', 'owner-1');
    expect(await store.acquireLock('sid-c', 'thief', 5_000)).toBe(true);
    await sleep(120);
    expect(lease!.lost).toBe(true);
    await lease!.release();
    expect(await store.acquireLock('sid-c', 'owner-2', 1_000)).toBe(false);
    await store.close();
  });
});
