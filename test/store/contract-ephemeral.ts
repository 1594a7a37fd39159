import { describe, expect, it } from 'vitest';
import { scaled, type ContractContext } from './contract-fixtures.ts';

/** One-use records and the markOnce replay guard in the Store contract. */
export function ephemeralContract({ store, options }: ContractContext): void {
  const t = (ms: number) => scaled(options, ms);
  describe('ephemeral records and markOnce', () => {
    it('an ephemeral record is taken exactly once', async () => {
      await store().putEphemeral('login', 'state-1', '{"verifier":"x"}', 10_000);
      expect(await store().takeEphemeral('login', 'state-1')).toBe('{"verifier":"x"}');
      expect(await store().takeEphemeral('login', 'state-1')).toBeNull();
    });

    it('of many concurrent takers, exactly one gets the record', async () => {
      await store().putEphemeral('login', 'state-race', 'value', 10_000);
      const taken = await Promise.all(Array.from({ length: 20 }, () => store().takeEphemeral('login', 'state-race')));
      expect(taken.filter((value) => value !== null)).toEqual(['value']);
    });

    it('expires after its TTL, and namespaces do not share ids', async () => {
      await store().putEphemeral('login', 'state-2', 'a', t(200));
      await store().putEphemeral('link', 'state-2', 'b', 10_000);
      await options.fastForward(t(300));
      expect(await store().takeEphemeral('login', 'state-2')).toBeNull();
      expect(await store().takeEphemeral('link', 'state-2')).toBe('b');
      expect(await store().takeEphemeral('login', 'unknown')).toBeNull();
    });

    it('accepts any id text (ids come from outside, e.g. a logout token jti)', async () => {
      const id = 'jti:{a}/b c✓';
      await store().putEphemeral('login', id, 'v', 10_000);
      expect(await store().takeEphemeral('login', id)).toBe('v');
      expect(await store().markOnce('bcl', id, 10_000)).toBe(true);
      expect(await store().markOnce('bcl', id, 10_000)).toBe(false);
    });

    it('isMarked sees a mark while it lives and marks nothing itself', async () => {
      expect(await store().isMarked('jti', 'token-m')).toBe(false);
      expect(await store().isMarked('jti', 'token-m')).toBe(false);
      expect(await store().markOnce('jti', 'token-m', t(200))).toBe(true);
      expect(await store().isMarked('jti', 'token-m')).toBe(true);
      expect(await store().isMarked('other', 'token-m')).toBe(false);
      await options.fastForward(t(300));
      expect(await store().isMarked('jti', 'token-m')).toBe(false);
    });

    it('markOnce is true only the first time within its TTL, then true again after it', async () => {
      expect(await store().markOnce('jti', 'token-1', t(200))).toBe(true);
      expect(await store().markOnce('jti', 'token-1', t(200))).toBe(false);
      expect(await store().markOnce('other', 'token-1', t(200))).toBe(true);
      await options.fastForward(t(300));
      expect(await store().markOnce('jti', 'token-1', t(200))).toBe(true);
    });

    it('of many concurrent markOnce calls, exactly one is first', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, () => store().markOnce('jti', 'token-race', 10_000)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });
  });
}
