import { describe, expect, it } from 'vitest';
import { makeSession, makeTokens, scaled, type ContractContext } from './contract-fixtures.ts';

/** The user and provider-session indexes in the Store contract. */
export function indexContract({ store, options }: ContractContext): void {
  const t = (ms: number) => scaled(options, ms);
  describe('user and provider-session indexes', () => {
    it('lists every live session of a user, and only that user’s', async () => {
      const now = options.now();
      const first = makeSession(now, { sub: 'ada|{weird}:sub ✓' });
      const second = makeSession(now, { sub: first.sub });
      const sameSubOtherProvider = makeSession(now, { sub: first.sub, provider: 'other' });
      const otherUser = makeSession(now);
      for (const session of [first, second, sameSubOtherProvider, otherUser]) await store().createSession(session, makeTokens('i', now), 10_000);
      expect((await store().listUserSessions('op', first.sub)).sort()).toEqual([first.sid, second.sid].sort());
      expect(await store().listUserSessions('other', first.sub)).toEqual([sameSubOtherProvider.sid]);
      expect(await store().listUserSessions('op', 'nobody')).toEqual([]);
    });

    it('leaves out sessions that expired', async () => {
      const now = options.now();
      const short = makeSession(now);
      const long = makeSession(now, { sub: short.sub });
      await store().createSession(short, makeTokens('s', now), t(300));
      await store().createSession(long, makeTokens('l', now), 10_000);
      await options.fastForward(t(400));
      expect(await store().listUserSessions('op', short.sub)).toEqual([long.sid]);
    });

    it('destroyUserSessions ends every session of the user and returns their sids', async () => {
      const now = options.now();
      const sessions = [makeSession(now, { providerSid: 'ps-1' })];
      sessions.push(makeSession(now, { sub: sessions[0]!.sub }), makeSession(now, { sub: sessions[0]!.sub }));
      const bystander = makeSession(now);
      for (const session of [...sessions, bystander]) await store().createSession(session, makeTokens('u', now), 10_000);
      const ended = await store().destroyUserSessions('op', sessions[0]!.sub);
      expect(ended.sort()).toEqual(sessions.map((session) => session.sid).sort());
      for (const session of sessions) expect(await store().loadSession(session.sid, 10_000)).toBeNull();
      expect(await store().listUserSessions('op', sessions[0]!.sub)).toEqual([]);
      expect(await store().findByProviderSid('op', 'ps-1')).toEqual([]);
      expect(await store().loadSession(bystander.sid, 10_000)).not.toBeNull();
      expect(await store().destroyUserSessions('op', sessions[0]!.sub)).toEqual([]);
    });

    it('describeUserSessions reads the records and remaining TTLs of a user’s live sessions, without sliding them', async () => {
      const now = options.now();
      const first = makeSession(now, { device: 'Firefox on Linux' });
      const second = makeSession(now, { sub: first.sub });
      const expired = makeSession(now, { sub: first.sub });
      const otherUser = makeSession(now);
      await store().createSession(first, makeTokens('d1', now), 10_000);
      await store().createSession(second, makeTokens('d2', now), 5_000);
      await store().createSession(expired, makeTokens('d3', now), t(300));
      await store().createSession(otherUser, makeTokens('d4', now), 10_000);
      await options.fastForward(t(400));
      const page = await store().describeUserSessions('op', first.sub, 10);
      expect(page.truncated).toBe(false);
      const bySid = new Map(page.sessions.map((entry) => [entry.session.sid, entry]));
      expect([...bySid.keys()].sort()).toEqual([first.sid, second.sid].sort());
      expect(bySid.get(first.sid)!.session).toEqual(first);
      expect(bySid.get(first.sid)!.ttlMs).toBeLessThanOrEqual(10_000 - t(400));
      expect(bySid.get(first.sid)!.ttlMs).toBeGreaterThan(10_000 - t(400) - 1_000);
      expect(bySid.get(second.sid)!.ttlMs).toBeLessThanOrEqual(5_000 - t(400));
      expect(bySid.get(second.sid)!.ttlMs).toBeGreaterThan(5_000 - t(400) - 1_000);
      // A read: the TTL did not slide back up.
      const again = await store().describeUserSessions('op', first.sub, 10);
      expect(again.sessions.find((entry) => entry.session.sid === second.sid)!.ttlMs).toBeLessThanOrEqual(bySid.get(second.sid)!.ttlMs);
      expect(await store().describeUserSessions('op', 'nobody', 10)).toEqual({ sessions: [], truncated: false });
    });

    it('describeUserSessions returns at most `limit` sessions and says when there are more', async () => {
      const now = options.now();
      const sessions = [makeSession(now)];
      for (let index = 0; index < 4; index += 1) sessions.push(makeSession(now, { sub: sessions[0]!.sub }));
      for (const session of sessions) await store().createSession(session, makeTokens('l', now), 10_000);
      const limited = await store().describeUserSessions('op', sessions[0]!.sub, 3);
      expect(limited.sessions).toHaveLength(3);
      expect(limited.truncated).toBe(true);
      const exact = await store().describeUserSessions('op', sessions[0]!.sub, 5);
      expect(exact.sessions).toHaveLength(5);
      expect(exact.truncated).toBe(false);
      await expect(store().describeUserSessions('op', sessions[0]!.sub, 0)).rejects.toBeInstanceOf(RangeError);
    });

    it('finds the sessions bound to a provider session id', async () => {
      const now = options.now();
      const bound = makeSession(now, { providerSid: 'op-sid/with:odd{chars}' });
      const alsoBound = makeSession(now, { providerSid: bound.providerSid, sub: bound.sub });
      const unbound = makeSession(now, { sub: bound.sub });
      for (const session of [bound, alsoBound, unbound]) await store().createSession(session, makeTokens('p', now), 10_000);
      expect((await store().findByProviderSid('op', bound.providerSid!)).sort()).toEqual([bound.sid, alsoBound.sid].sort());
      expect(await store().findByProviderSid('other', bound.providerSid!)).toEqual([]);
      await store().destroySession(bound.sid);
      expect(await store().findByProviderSid('op', bound.providerSid!)).toEqual([alsoBound.sid]);
    });
  });
}
