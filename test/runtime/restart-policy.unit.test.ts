import { describe, expect, it } from 'vitest';
import { RestartPolicy } from '../../src/runtime/cluster/restart-policy.ts';

describe('restarting dead workers', () => {
  it('waits twice as long after each recent death, up to the cap', () => {
    const policy = new RestartPolicy({ baseDelayMs: 100, maxDelayMs: 500, maxRestarts: 10, windowMs: 60_000 });
    expect([0, 1, 2, 3, 4].map((i) => policy.afterDeath(i * 1_000))).toEqual([100, 200, 400, 500, 500]);
  });

  it('gives up once more than maxRestarts deaths fall within the window', () => {
    const policy = new RestartPolicy({ baseDelayMs: 10, maxRestarts: 3, windowMs: 10_000 });
    expect([0, 1, 2].map((i) => policy.afterDeath(i * 1_000))).toEqual([10, 20, 40]);
    expect(policy.afterDeath(3_000)).toBeUndefined();
  });

  it('forgets deaths older than the window: a worker that crashes now and then is always restarted', () => {
    const policy = new RestartPolicy({ baseDelayMs: 10, maxRestarts: 2, windowMs: 10_000 });
    for (let i = 0; i < 10; i += 1) expect(policy.afterDeath(i * 11_000)).toBe(10);
  });
});
