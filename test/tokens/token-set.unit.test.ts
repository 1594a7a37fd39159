import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DecryptionFailedError } from '../../src/errors.ts';
import { ProviderTokens } from '../../src/providers/types.ts';
import type { StoredTokenSet } from '../../src/store/types.ts';
import { generateKey, Keyring } from '../../src/crypto/keyring.ts';
import { openRouteTokens } from '../../src/tokens/route-token.ts';
import { SEAL_FIELDS, openTokenSet, resealTokenSet, routeTokenField, sealRefreshed, sealTokenSet, sealedWithOldKey } from '../../src/tokens/token-set.ts';
import { testKeyring } from './fixture.ts';

const keyring = testKeyring();
const SID = 'sid-1';

function storedLogin(): StoredTokenSet {
  return {
    ver: 3,
    accessToken: keyring.seal('AT-old', SID, 'access'),
    refreshToken: keyring.seal('RT-old', SID, 'refresh'),
    idToken: keyring.seal('ID-old', SID, 'id'),
    expiresAt: 1_000 + 3_600_000,
    obtainedAt: 1_000,
    scope: 'openid offline_access',
    tokenType: 'Bearer',
  };
}

describe('token set of a new session', () => {
  it('seals each token in its own field under the sid, and keeps the facts in the clear', () => {
    const sealed = sealTokenSet(keyring, SID, new ProviderTokens({ accessToken: 'AT-1', refreshToken: 'RT-1', idToken: 'ID-1', expiresIn: 60, scope: 'openid' }), 5_000);
    expect(JSON.stringify(sealed)).not.toMatch(/AT-1|RT-1|ID-1/);
    expect(keyring.open(sealed.accessToken, SID, SEAL_FIELDS.access)).toBe('AT-1');
    expect(keyring.open(sealed.refreshToken!, SID, SEAL_FIELDS.refresh)).toBe('RT-1');
    expect(keyring.open(sealed.idToken!, SID, SEAL_FIELDS.id)).toBe('ID-1');
    expect(() => keyring.open(sealed.refreshToken!, SID, SEAL_FIELDS.access)).toThrow(DecryptionFailedError);
    expect(sealed).toMatchObject({ expiresAt: 65_000, obtainedAt: 5_000, scope: 'openid', tokenType: 'Bearer' });
  });

  it('leaves out what the provider did not send', () => {
    const sealed = sealTokenSet(keyring, SID, new ProviderTokens({ accessToken: 'AT-1' }), 5_000);
    expect(Object.keys(sealed).sort()).toEqual(['accessToken', 'obtainedAt', 'tokenType']);
  });
});

describe('token set written after a refresh', () => {
  it('rotation: a new refresh token replaces the old one', () => {
    const next = sealRefreshed(keyring, SID, storedLogin(), new ProviderTokens({ accessToken: 'AT-new', refreshToken: 'RT-new', expiresIn: 60 }), 5_000);
    const opened = openTokenSet(keyring, SID, { ...next, ver: 4 });
    expect(opened.accessToken).toBe('AT-new');
    expect(opened.refreshToken).toBe('RT-new');
    expect(opened.obtainedAt).toBe(5_000);
    expect(opened.expiresAt).toBe(65_000);
  });

  it('no new refresh token: the old one is kept (and the ID token and scope too)', () => {
    const previous = storedLogin();
    const next = sealRefreshed(keyring, SID, previous, new ProviderTokens({ accessToken: 'AT-new', expiresIn: 60 }), 5_000);
    expect(next.refreshToken).toBe(previous.refreshToken);
    const opened = openTokenSet(keyring, SID, { ...next, ver: 4 });
    expect(opened.refreshToken).toBe('RT-old');
    expect(opened.idToken).toBe('ID-old');
    expect(opened.scope).toBe('openid offline_access');
  });

  it('after a key rotation, the kept refresh token and ID token move to the new first key', () => {
    const old = { kid: 'old', key: generateKey() };
    const rotating = new Keyring([old]);
    const previous: StoredTokenSet = { ...storedLogin(), refreshToken: rotating.seal('RT-old', SID, 'refresh'), idToken: rotating.seal('ID-old', SID, 'id'), accessToken: rotating.seal('AT-old', SID, 'access') };
    rotating.replace([{ kid: 'new', key: generateKey() }, old]);
    const next = sealRefreshed(rotating, SID, previous, new ProviderTokens({ accessToken: 'AT-new', expiresIn: 60 }), 5_000);
    for (const sealed of [next.accessToken, next.refreshToken!, next.idToken!]) expect(sealed.split('.')[1]).toBe('new');
    const opened = openTokenSet(rotating, SID, { ...next, ver: 4 });
    expect([opened.refreshToken, opened.idToken]).toEqual(['RT-old', 'ID-old']);
    expect(sealedWithOldKey(rotating, { ...next, ver: 4 })).toBe(false);
  });

  it('a re-seal keeps every token and fact, only the sealing key changes', () => {
    const old = { kid: 'old', key: generateKey() };
    const rotating = new Keyring([old]);
    const previous: StoredTokenSet = { ...storedLogin(), refreshToken: rotating.seal('RT-old', SID, 'refresh'), idToken: rotating.seal('ID-old', SID, 'id'), accessToken: rotating.seal('AT-old', SID, 'access'), forcedAt: 7 };
    rotating.replace([{ kid: 'new', key: generateKey() }, old]);
    expect(sealedWithOldKey(rotating, previous)).toBe(true);
    const next = resealTokenSet(rotating, SID, previous);
    // Written at ver 4, the login token keeps its version (3): a re-seal is not a renewal.
    expect(openTokenSet(rotating, SID, { ...next, ver: 4 })).toEqual(openTokenSet(rotating, SID, previous));
    expect(next).toMatchObject({ expiresAt: previous.expiresAt, obtainedAt: previous.obtainedAt, scope: previous.scope, tokenType: 'Bearer', forcedAt: 7 });
    expect('ver' in next).toBe(false);
  });

  it('the DPoP key is carried over by a refresh and moved by a re-seal to the new first key', () => {
    const old = { kid: 'old', key: generateKey() };
    const rotating = new Keyring([old]);
    const previous: StoredTokenSet = { ...storedLogin(), accessToken: rotating.seal('AT-old', SID, 'access'), refreshToken: rotating.seal('RT-old', SID, 'refresh'), idToken: rotating.seal('ID-old', SID, 'id'), dpopKey: rotating.seal('JWK', SID, SEAL_FIELDS.dpop) };
    expect(sealRefreshed(rotating, SID, previous, new ProviderTokens({ accessToken: 'AT-new' }), 5_000).dpopKey).toBe(previous.dpopKey);
    rotating.replace([{ kid: 'new', key: generateKey() }, old]);
    expect(sealedWithOldKey(rotating, { ...previous, accessToken: rotating.seal('AT-old', SID, 'access'), refreshToken: rotating.seal('RT-old', SID, 'refresh'), idToken: rotating.seal('ID-old', SID, 'id') })).toBe(true);
    for (const next of [resealTokenSet(rotating, SID, previous), sealRefreshed(rotating, SID, previous, new ProviderTokens({ accessToken: 'AT-new' }), 5_000)]) {
      expect(next.dpopKey!.split('.')[1]).toBe('new');
      expect(rotating.open(next.dpopKey!, SID, SEAL_FIELDS.dpop)).toBe('JWK');
    }
  });

  it('a response without expires_in gives a token that does not expire', () => {
    const next = sealRefreshed(keyring, SID, storedLogin(), new ProviderTokens({ accessToken: 'AT-new' }), 5_000);
    expect(next).not.toHaveProperty('expiresAt');
  });

  it('nothing is written in plaintext, and sealed values are bound to their session', () => {
    const next = sealRefreshed(keyring, SID, storedLogin(), new ProviderTokens({ accessToken: 'AT-new', refreshToken: 'RT-new' }), 5_000);
    expect(JSON.stringify(next)).not.toMatch(/AT-new|RT-new/);
    expect(() => openTokenSet(keyring, 'another-sid', { ...next, ver: 4 })).toThrow(DecryptionFailedError);
  });

  it('an opened token set prints its tokens as [present]', () => {
    const opened = openTokenSet(keyring, SID, storedLogin());
    for (const text of [JSON.stringify(opened), inspect(opened)]) {
      expect(text).not.toMatch(/AT-old|RT-old|ID-old/);
      expect(text).toContain('[present]');
    }
  });
});

describe('per-route tokens in the token set', () => {
  const ROUTE_KEY = 'resource:https://orders.example.test';
  const withRouteToken = (ring: Keyring): StoredTokenSet & { laterField: string } => ({
    ...storedLogin(),
    accessToken: ring.seal('AT-old', SID, 'access'),
    refreshToken: ring.seal('RT-old', SID, 'refresh'),
    idToken: ring.seal('ID-old', SID, 'id'),
    resources: { [ROUTE_KEY]: { accessToken: ring.seal('AT-orders', SID, routeTokenField(ROUTE_KEY)), ver: 2, expiresAt: 9_000, obtainedAt: 1_000, tokenType: 'Bearer', forcedAt: 5 } },
    // A field this version does not know (another feature's), carried over as it is.
    laterField: 'kept as it is',
  });

  it('a login refresh keeps the route tokens (stamps untouched) and every field it does not know', () => {
    const previous = withRouteToken(keyring);
    const next = sealRefreshed(keyring, SID, previous, new ProviderTokens({ accessToken: 'AT-new', refreshToken: 'RT-new', expiresIn: 60 }), 5_000);
    expect(next.resources).toEqual(previous.resources);
    expect((next as typeof previous).laterField).toBe('kept as it is');
    expect(openRouteTokens(keyring, SID, { ...next, ver: 4 })).toEqual([{ provider: undefined, accessToken: 'AT-orders', refreshToken: undefined }]);
  });

  it('after a key rotation a refresh and a re-seal move the route tokens to the new first key; the old key is no longer needed', () => {
    const old = { kid: 'old', key: generateKey() };
    const rotating = new Keyring([old]);
    const previous = withRouteToken(rotating);
    rotating.replace([{ kid: 'new', key: generateKey() }, old]);
    // Only the route token under the old key: still a set to re-seal.
    expect(sealedWithOldKey(rotating, { ...previous, accessToken: rotating.seal('AT-old', SID, 'access'), refreshToken: rotating.seal('RT-old', SID, 'refresh'), idToken: rotating.seal('ID-old', SID, 'id') })).toBe(true);
    for (const next of [resealTokenSet(rotating, SID, previous), sealRefreshed(rotating, SID, previous, new ProviderTokens({ accessToken: 'AT-new', expiresIn: 60 }), 5_000)]) {
      expect(next.resources![ROUTE_KEY]!.accessToken.split('.')[1]).toBe('new');
      expect(next.resources![ROUTE_KEY]).toMatchObject({ ver: 2, expiresAt: 9_000, forcedAt: 5 });
      expect((next as typeof previous).laterField).toBe('kept as it is');
      expect(sealedWithOldKey(rotating, { ...next, ver: 4 })).toBe(false);
    }
  });

  it('a route token is bound to its route: it does not open as the login token or as another route’s', () => {
    const stored = withRouteToken(keyring);
    const sealed = stored.resources![ROUTE_KEY]!.accessToken;
    expect(() => keyring.open(sealed, SID, SEAL_FIELDS.access)).toThrow(DecryptionFailedError);
    expect(() => keyring.open(sealed, SID, routeTokenField('resource:https://billing.example.test'))).toThrow(DecryptionFailedError);
  });
});
