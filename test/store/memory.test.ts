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

  it('a sweep drops at most its budget of expired entries and resumes where it stopped', async () => {
    const time = fakeClock();
    const store = new MemoryStore({ now: time.now, sweepBudget: 4, sweepIntervalMs: 3_600_000 });
    stores.push(store);
    for (let index = 0; index < 6; index += 1) await store.putEphemeral('login', `s${index}`, 'v', 100);
    await store.putEphemeral('login', 'live', 'v', 10_000);
    await time.advance(200);
    expect(store.sweep()).toBe(4);
    expect(store.sweep()).toBe(2);
    expect(store.sweep()).toBe(0);
    expect(await store.takeEphemeral('login', 'live')).toBe('v');
  });

  it('sweeps index sets and sessions too', async () => {
    const time = fakeClock();
    const store = new MemoryStore({ now: time.now, sweepIntervalMs: 3_600_000 });
    stores.push(store);
    const session = makeSession(time.now(), { providerSid: 'ps', absoluteExpiresAt: time.now() + 500 });
    await store.createSession(session, makeTokens('a', time.now()), 300);
    await time.advance(600);
    // sess, tok, user index, psid index
    expect(store.sweep()).toBe(4);
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
