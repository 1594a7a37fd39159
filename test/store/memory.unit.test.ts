import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.ts';
import { runStoreContract } from './contract.ts';
import { makeSession, makeTokens } from './contract-fixtures.ts';

/** A clock the test moves by hand. */
function fakeClock(start = Date.UTC(2030, 0, 1)) {
  let now = start;
  return {
    now: () => now,
    advance: async (ms: number) => {
      now += ms;
    },
  };
}

const clock = fakeClock();
runStoreContract('memory', () => new MemoryStore({ now: clock.now }), { now: clock.now, fastForward: clock.advance });

describe('memory store housekeeping', () => {
  const stores: MemoryStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('a sweep drops entries of mixed lifetimes in expiry order, and keeps one whose expiry slid later', async () => {
    const time = fakeClock();
    const store = new MemoryStore({ now: time.now, sweepIntervalMs: 3_600_000 });
    stores.push(store);
    await store.putEphemeral('login', 'long', 'v', 60_000);
    for (let index = 0; index < 6; index += 1) await store.putEphemeral('login', `short${index}`, 'v', 100);
    expect(await store.acquireLock('sid-1', 'me', 1_000)).toBe(true);
    await time.advance(900);
    expect(await store.renewLock('sid-1', 'me', 10_000)).toBe(true);
    await time.advance(1_200);
    expect(store.sweep()).toBe(6);
    expect(store.size).toBe(2);
    expect(await store.releaseLock('sid-1', 'me')).toBe(true);
    expect(await store.takeEphemeral('login', 'long')).toBe('v');
  });

  it('sweeps index sets and sessions too', async () => {
    const time = fakeClock();
    const store = new MemoryStore({ now: time.now, sweepIntervalMs: 3_600_000 });
    stores.push(store);
    const session = makeSession(time.now(), { providerSid: 'ps', absoluteExpiresAt: time.now() + 500 });
    await store.createSession(session, makeTokens('a', time.now()), 300);
    await time.advance(600);
    expect(store.size).toBe(4);
    // sess and tok expire; the user and psid index entries go with the session.
    expect(store.sweep()).toBe(2);
    expect(store.size).toBe(0);
  });

  it('a session that expires by idleness takes its user and provider-sid index entries with it', async () => {
    const time = fakeClock();
    const store = new MemoryStore({ now: time.now, sweepIntervalMs: 3_600_000 });
    stores.push(store);
    // Idle timeout 30 min, absolute 12 h: the index entries used to stay for the 12 h.
    const session = makeSession(time.now(), { providerSid: 'ps', absoluteExpiresAt: time.now() + 12 * 3_600_000 });
    await store.createSession(session, makeTokens('a', time.now()), 30 * 60_000);
    expect(store.size).toBe(4);
    await time.advance(31 * 60_000);
    store.sweep();
    expect(store.size).toBe(0);
  });

  it('the timer sweeps on its own without keeping the process alive', async () => {
    const time = fakeClock();
    const store = new MemoryStore({ now: time.now, sweepIntervalMs: 10 });
    stores.push(store);
    for (let index = 0; index < 3; index += 1) await store.putEphemeral('login', `t${index}`, 'v', 100);
    await time.advance(200);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(store.sweep()).toBe(0);
  });
});
