import { describe, expect, it } from 'vitest';
import { createReadiness, DRAINING } from '../../src/observability/readiness.ts';
import { MemoryStore } from '../../src/store/index.ts';

describe('createReadiness', () => {
  it('is ready when every check passes', async () => {
    const store = new MemoryStore();
    try {
      const readiness = createReadiness({ checks: [{ name: 'store', check: () => store.ping() }] });
      expect(await readiness()).toEqual({ ready: true, failing: [], checks: { store: { ok: true } } });
    } finally {
      await store.close();
    }
  });

  it('flips to not ready, naming the check, when a check starts failing', async () => {
    const store = new MemoryStore();
    const readiness = createReadiness({
      checks: [
        { name: 'store', check: () => store.ping() },
        { name: 'always', check: async () => undefined },
      ],
    });
    expect((await readiness()).ready).toBe(true);
    await store.close();
    expect(await readiness()).toEqual({ ready: false, failing: ['store'], checks: { store: { ok: false, error: expect.any(String) }, always: { ok: true } } });
  });

  it('counts a check that does not settle in time as failing, and answers within the timeout', async () => {
    const readiness = createReadiness({
      timeoutMs: 50,
      checks: [
        { name: 'hangs', check: () => new Promise<void>(() => undefined) },
        { name: 'throws', check: () => { throw new Error('sync failure'); } },
        { name: 'fine', check: async () => undefined },
      ],
    });
    const started = performance.now();
    expect(await readiness()).toEqual({
      ready: false,
      failing: ['hangs', 'throws'],
      // A foreign error's message is not repeated (it may quote anything): only its name.
      checks: { hangs: { ok: false, error: 'no answer within 50 ms' }, throws: { ok: false, error: 'Error' }, fine: { ok: true } },
    });
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('is not ready once draining, whatever the checks say, without running them', async () => {
    let runs = 0;
    const readiness = createReadiness({ checks: [{ name: 'counted', check: async () => void (runs += 1) }] });
    expect((await readiness()).ready).toBe(true);
    expect(readiness.isDraining()).toBe(false);
    readiness.setDraining();
    expect(readiness.isDraining()).toBe(true);
    expect(await readiness()).toEqual({ ready: false, failing: [DRAINING] });
    expect(runs).toBe(1);
  });

  it('says why a check fails: a GatewayError\'s message and its cause\'s code', async () => {
    const { StoreUnavailableError } = await import('../../src/errors.ts');
    const readiness = createReadiness({
      checks: [{ name: 'store', check: async () => { throw new StoreUnavailableError(undefined, { cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) }); } }],
    });
    expect((await readiness()).checks).toEqual({ store: { ok: false, error: 'The session store is unavailable (ECONNREFUSED)' } });
  });

  it('reports draining that begins while the checks run', async () => {
    let release: () => void = () => undefined;
    const readiness = createReadiness({ checks: [{ name: 'slow', check: () => new Promise<void>((resolve) => (release = resolve)) }] });
    const pending = readiness();
    readiness.setDraining();
    release();
    expect(await pending).toMatchObject({ ready: false, failing: [DRAINING] });
  });
});
