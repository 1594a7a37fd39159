import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory.ts';
import { FakeClock } from '../support/fake-clock.ts';

/**
 * The memory store's sweep under a login flood: 1.8 million inserts on a fake clock. Pure logic,
 * but seconds of CPU, so it runs in the integration tier, not in `npm run test:unit`.
 */

describe('memory store sweep under load', () => {
  const stores: MemoryStore[] = [];
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((store) => store.close()));
  });

  it('an hour of anonymous logins at 500/s holds no more than the live ones: the sweep keeps up under inserts', async () => {
    const time = new FakeClock(Date.UTC(2030, 0, 1));
    const store = new MemoryStore({ now: () => time.now(), sweepIntervalMs: 3_600_000 });
    stores.push(store);
    const rate = 500;
    const loginTimeoutMs = 600_000;
    const live = rate * (loginTimeoutMs / 1000);
    let most = 0;
    for (let second = 0; second < 3600; second += 1) {
      const batch: Promise<void>[] = [];
      for (let index = 0; index < rate; index += 1) batch.push(store.putEphemeral('login', `t${second}-${index}`, 'x'.repeat(64), loginTimeoutMs));
      await Promise.all(batch);
      await time.advance(1000);
      // The store's own timer runs every 10 s; here the test drives it on the fake clock.
      if (second % 10 === 9) {
        store.sweep();
        most = Math.max(most, store.size);
      }
    }
    expect(most).toBeLessThanOrEqual(live);
    // Nothing live was dropped: the last login is still there.
    expect(await store.takeEphemeral('login', `t3599-${rate - 1}`)).toBe('x'.repeat(64));
  }, 60_000);
});
