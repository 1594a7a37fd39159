import { describe, expect, it } from 'vitest';
import { makeSession, makeTokens, scaled, type ContractContext } from './contract-fixtures.ts';

/**
 * Session lifetimes in the Store contract: idle TTL, sliding on load, the absolute
 * cap, and token-set TTLs kept by compare-and-set. Deadlines and checks are >= 100 ms apart.
 */
export function lifetimeContract({ store, options }: ContractContext): void {
  const t = (ms: number) => scaled(options, ms);
  describe('session lifetimes', () => {
    it('a session left alone expires after its TTL, tokens with it', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('t', options.now()), t(400));
      await options.fastForward(t(200));
      expect(await store().getSession(session.sid)).not.toBeNull();
      await options.fastForward(t(300));
      expect(await store().getSession(session.sid)).toBeNull();
      expect(await store().getTokens(session.sid)).toBeNull();
      expect(await store().loadSession(session.sid, t(400))).toBeNull();
    });

    it('loadSession slides the idle TTL of the session and its tokens', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('slide', options.now()), t(400));
      await options.fastForward(t(250));
      expect(await store().loadSession(session.sid, t(400))).not.toBeNull();
      await options.fastForward(t(250));
      // Past the original 400 ms: alive only because the load slid it.
      expect(await store().getSession(session.sid)).not.toBeNull();
      expect(await store().getTokens(session.sid)).not.toBeNull();
      await options.fastForward(t(250));
      expect(await store().getSession(session.sid)).toBeNull();
      expect(await store().getTokens(session.sid)).toBeNull();
    });

    it('sliding never goes past the absolute expiry', async () => {
      const now = options.now();
      const session = makeSession(now, { absoluteExpiresAt: now + t(500) });
      await store().createSession(session, makeTokens('abs', now), t(400));
      await options.fastForward(t(250));
      expect(await store().loadSession(session.sid, 60_000)).not.toBeNull();
      await options.fastForward(t(350));
      expect(await store().loadSession(session.sid, 60_000)).toBeNull();
      expect(await store().getTokens(session.sid)).toBeNull();
    });

    it('createSession caps the TTL at the absolute expiry', async () => {
      const now = options.now();
      const session = makeSession(now, { absoluteExpiresAt: now + t(200) });
      await store().createSession(session, makeTokens('cap', now), 60_000);
      await options.fastForward(t(300));
      expect(await store().getSession(session.sid)).toBeNull();
      expect(await store().getTokens(session.sid)).toBeNull();
    });

    it('compare-and-set keeps the token set’s TTL instead of resetting it', async () => {
      const session = makeSession(options.now());
      await store().createSession(session, makeTokens('v1', options.now()), t(400));
      await options.fastForward(t(150));
      expect(await store().compareAndSetTokens(session.sid, 1, makeTokens('v2', options.now()))).toMatchObject({ ok: true });
      await options.fastForward(t(350));
      expect(await store().getTokens(session.sid)).toBeNull();
    });
  });
}
