import { describe, expect, it } from 'vitest';
import { generateKey, Keyring } from '../../src/crypto/keyring.ts';
import { MemoryStore } from '../../src/store/memory.ts';
import type { StoredTokenSet } from '../../src/store/types.ts';
import { TokenService } from '../../src/tokens/token-service.ts';
import { sealTokenSet } from '../../src/tokens/token-set.ts';
import type { TokenConfig } from '../../src/tokens/types.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import { waitFor } from '../support/wait.ts';

/** A token set read under an older key is sealed again under the first key, only through the CAS write and only while holding the refresh lock. */

const config: TokenConfig = { refreshBuffer: 300_000, lockLease: 2_000, refreshWait: 2_000, expiryMargin: 10_000, refreshTimeout: 30_000, forcedRefreshCooldown: 30_000 };
const SID = 'reseal-session-1';
const old = { kid: 'old', key: generateKey() };

async function setUp() {
  const now = Date.now();
  const store = new MemoryStore();
  const keyring = new Keyring([old]);
  const tokens = sealTokenSet(keyring, SID, new ProviderTokens({ accessToken: 'AT-1', refreshToken: 'RT-1', idToken: 'ID-1', expiresIn: 3600 }), now);
  await store.createSession({ sid: SID, provider: 'op', sub: 'u', claims: {}, createdAt: now, absoluteExpiresAt: now + 3_600_000 }, tokens, 3_600_000);
  keyring.replace([{ kid: 'new', key: generateKey() }, old]);
  const service = new TokenService({ store, providers: new Map(), keyring, config });
  return { store, keyring, service };
}

const kids = (set: StoredTokenSet | null) => [set?.accessToken, set?.refreshToken, set?.idToken].map((sealed) => sealed?.split('.')[1]);

describe('re-seal on read after a key rotation', () => {
  it('a read answers the token at once and the stored set moves to the first key (ver + 1, same tokens)', async () => {
    const { store, keyring, service } = await setUp();
    const bearer = await service.getAccessToken(SID);
    expect(bearer.accessToken).toBe('AT-1');
    await service.idle();
    const stored = await store.getTokens(SID);
    expect(stored?.ver).toBe(2);
    expect(kids(stored)).toEqual(['new', 'new', 'new']);
    expect(keyring.open(stored!.refreshToken!, SID, 'refresh')).toBe('RT-1');
    // Nothing old left: the next read writes nothing.
    await service.getAccessToken(SID);
    await service.idle();
    expect((await store.getTokens(SID))?.ver).toBe(2);
  });

  it('while another party holds the refresh lock (a refresh in flight), nothing is written; the next read after it re-seals', async () => {
    const { store, service } = await setUp();
    expect(await store.acquireLock(SID, 'refresher-elsewhere', 10_000)).toBe(true);
    expect((await service.getAccessToken(SID)).accessToken).toBe('AT-1');
    await service.idle();
    expect((await store.getTokens(SID))?.ver).toBe(1);
    await store.releaseLock(SID, 'refresher-elsewhere');
    await service.getAccessToken(SID);
    await waitFor('the re-seal', async () => (await store.getTokens(SID))?.ver === 2);
    expect(await store.acquireLock(SID, 'next', 1_000)).toBe(true);
  });

  it('a set that moved on since it was read is not overwritten (CAS on ver)', async () => {
    const { store, keyring, service } = await setUp();
    const read = (await store.getTokens(SID))!;
    // Someone else writes ver 2 (a refresh with a rotated refresh token) after our read.
    const rotated = sealTokenSet(keyring, SID, new ProviderTokens({ accessToken: 'AT-2', refreshToken: 'RT-2', expiresIn: 3600 }), Date.now());
    expect((await store.compareAndSetTokens(SID, 1, rotated)).ok).toBe(true);
    await service.getAccessToken(SID, { tokens: read });
    await service.idle();
    const stored = await store.getTokens(SID);
    expect(stored?.ver).toBe(2);
    expect(keyring.open(stored!.refreshToken!, SID, 'refresh')).toBe('RT-2');
  });
});
