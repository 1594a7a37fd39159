import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BadRequestError } from '../../src/errors.ts';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/providers/logout-token.ts';
import { OidcProvider } from '../../src/providers/oidc.ts';
import { providerConfig } from './support/config.ts';
import { FakeOpenIdProvider } from './support/fake-op.ts';
import { nowSeconds, unsignedJwt } from './support/keys.ts';
import { rejectionOf } from './support/secrets.ts';

let op: FakeOpenIdProvider;
let corp: OidcProvider;

beforeAll(async () => {
  op = await FakeOpenIdProvider.start();
  corp = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s' }));
  await corp.init();
});
afterEach(() => op.reset());
afterAll(() => op.close());

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = nowSeconds();
  return { iss: op.issuer, aud: 'client-123', iat: now, exp: now + 120, jti: 'jti-1', sub: 'user-42', sid: 'op-sid-1', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...extra };
}

describe('a valid logout token', () => {
  it('yields sub, sid, jti, iat and exp', async () => {
    const token = await op.signer.sign(claims(), { typ: 'logout+jwt' });
    const verified = await corp.verifyLogoutToken(token);
    expect(verified).toMatchObject({ sub: 'user-42', sid: 'op-sid-1', jti: 'jti-1' });
    expect(typeof verified.iat).toBe('number');
    expect(typeof verified.exp).toBe('number');
  });

  it('may name only the sid, or only the sub, and may come without typ or with typ JWT', async () => {
    await expect(corp.verifyLogoutToken(await op.signer.sign(claims({ sub: undefined })))).resolves.toMatchObject({ sid: 'op-sid-1' });
    const onlySub = await corp.verifyLogoutToken(await op.signer.sign(claims({ sid: undefined }), { typ: 'JWT' }));
    expect(onlySub).toMatchObject({ sub: 'user-42' });
    expect(onlySub.sid).toBeUndefined();
  });

  it('without exp is refused by default (Back-Channel Logout 2.4: exp is required)', async () => {
    const err = await rejectionOf(corp.verifyLogoutToken(await op.signer.sign(claims({ exp: undefined }))));
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).message).toMatch(/exp: missing/);
  });

  it('without exp is accepted only while fresh by a provider configured to allow it', async () => {
    const lenient = new OidcProvider(providerConfig({ type: 'oidc', id: 'corp', issuer: op.issuer, timeout: '1s', acceptLogoutTokenWithoutExp: true }));
    await lenient.init();
    await expect(lenient.verifyLogoutToken(await op.signer.sign(claims({ exp: undefined })))).resolves.toMatchObject({ jti: 'jti-1' });
    const old = await op.signer.sign(claims({ exp: undefined, iat: nowSeconds() - 600 }));
    await expect(lenient.verifyLogoutToken(old)).rejects.toBeInstanceOf(BadRequestError);
  });
});

describe('a logout token is rejected when', () => {
  const cases: Record<string, [make: () => Promise<string>, reason: RegExp]> = {
    'it carries a nonce (an ID token is not a logout token)': [() => op.signer.sign(claims({ nonce: 'n-1' })), /carries a nonce/],
    'events is missing': [() => op.signer.sign(claims({ events: undefined })), /events: missing/],
    'events lacks the back-channel logout member': [() => op.signer.sign(claims({ events: { 'http://example.com/other': {} } })), /no back-channel logout event/],
    'the event member is not an object': [() => op.signer.sign(claims({ events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } })), /no back-channel logout event/],
    'both sub and sid are missing': [() => op.signer.sign(claims({ sub: undefined, sid: undefined })), /neither sub nor sid/],
    'jti is missing': [() => op.signer.sign(claims({ jti: undefined })), /jti: missing/],
    'iat is missing': [() => op.signer.sign(claims({ iat: undefined })), /iat: missing/],
    'it expired': [() => op.signer.sign(claims({ exp: nowSeconds() - 300, iat: nowSeconds() - 400 })), /ERR_JWT_EXPIRED/],
    'the issuer is another': [() => op.signer.sign(claims({ iss: 'https://elsewhere.example.com' })), /iss: check_failed/],
    'the audience is another client': [() => op.signer.sign(claims({ aud: 'client-999' })), /aud: check_failed/],
    'typ is something else': [() => op.signer.sign(claims(), { typ: 'at+jwt' }), /unexpected typ/],
    'it is unsigned': [async () => unsignedJwt(claims()), /ERR_JOSE_ALG_NOT_ALLOWED/],
  };

  for (const [name, [make, reason]] of Object.entries(cases)) {
    it(name, async () => {
      const token = await make();
      const err = (await rejectionOf(corp.verifyLogoutToken(token))) as Error;
      expect(err).toBeInstanceOf(BadRequestError);
      expect(err.message).toMatch(reason);
      expect(err.message).not.toContain(token);
    });
  }
});
