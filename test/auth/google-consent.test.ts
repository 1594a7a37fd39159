import { randomBytes } from 'node:crypto';
import { http, HttpResponse } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GOOGLE_ENDPOINTS } from '../../src/providers/google.ts';
import { createSigner, nowSeconds, type TestSigner } from '../providers/support/keys.ts';
import { RequestLog, formOf, mockServer, type MockProviders } from '../providers/support/msw.ts';
import { BrowserClient } from '../support/http.ts';
import { startGatewayFixture, type GatewayFixture } from './helpers/gateway-fixture.ts';

/**
 * The Google quirk, end to end through the gateway (Google played by msw): Google returns a
 * refresh token only when the user consents. A login that comes back without one makes the
 * next login from that browser ask for consent (`prompt=consent`); a login that brings one
 * stops asking. A login without a refresh token never outlives its access token.
 */

const CLIENT = { clientId: 'google-client.apps.example', clientSecret: 'google-client-secret-0123456789' };
const log = new RequestLog();
const issued: string[] = [];
const pending = { nonce: '', withRefreshToken: false };
let signer: TestSigner;
let mock: MockProviders;
let f: GatewayFixture;

beforeAll(async () => {
  signer = await createSigner('google-test-key');
  mock = mockServer(
    http.get(GOOGLE_ENDPOINTS.jwks, () => HttpResponse.json(signer.jwks)),
    http.post(GOOGLE_ENDPOINTS.token, async ({ request }) => {
      formOf(await log.record(request));
      const now = nowSeconds();
      const idToken = await signer.sign({ iss: 'https://accounts.google.com', aud: CLIENT.clientId, sub: '10769150350006150715113082367', email: 'ada@example.test', name: 'Ada', iat: now, exp: now + 3600, nonce: pending.nonce });
      const accessToken = `ya29.${randomBytes(24).toString('base64url')}`;
      const refreshToken = pending.withRefreshToken ? `1//0g${randomBytes(24).toString('base64url')}` : undefined;
      issued.push(accessToken, idToken, ...(refreshToken ? [refreshToken] : []));
      return HttpResponse.json({ access_token: accessToken, expires_in: 3599, id_token: idToken, token_type: 'Bearer', scope: 'openid email profile', ...(refreshToken ? { refresh_token: refreshToken } : {}) });
    }),
    http.post(GOOGLE_ENDPOINTS.revocation, () => new HttpResponse(null, { status: 200 })),
  );
  f = await startGatewayFixture({ providers: [{ id: 'google', type: 'google', ...CLIENT }] });
});

afterEach(() => {
  log.clear();
  expect(mock.unhandled).toEqual([]);
});

afterAll(async () => {
  await f?.close();
  mock?.close();
});

async function login(client: BrowserClient, withRefreshToken: boolean, iss: string | null = 'https://accounts.google.com'): Promise<{ authorize: URL; status: number }> {
  const authorize = await f.beginLogin(client, 'google');
  pending.nonce = authorize.searchParams.get('nonce')!;
  pending.withRefreshToken = withRefreshToken;
  // Google sends `iss` in its authorization responses (RFC 9207).
  const issParam = iss === null ? '' : `&iss=${encodeURIComponent(iss)}`;
  const callback = await client.request(`${f.origin}/auth/callback/google?code=4/0A${Date.now()}&state=${authorize.searchParams.get('state')}&scope=openid${issParam}`);
  return { authorize, status: callback.status };
}

describe('Google: the authorization response issuer (RFC 9207)', () => {
  it('a callback without iss is refused, as Google advertises it', async () => {
    const client = new BrowserClient();
    expect((await login(client, true, null)).status).toBe(400);
    expect(await f.sidOf(client)).toBeUndefined();
  });
});

describe('Google: consent again only when no refresh token came back', () => {
  it('asks for offline access without forcing consent on a first login', async () => {
    const authorize = await f.beginLogin(new BrowserClient(), 'google');
    expect(authorize.searchParams.get('access_type')).toBe('offline');
    expect(authorize.searchParams.has('prompt')).toBe(false);
  });

  it('forces consent on the next login after one that brought no refresh token, and stops once one arrives', async () => {
    const client = new BrowserClient();
    const first = await login(client, false);
    expect(first.status).toBe(200);
    expect(first.authorize.searchParams.has('prompt')).toBe(false);

    const second = await login(client, true);
    expect(second.status).toBe(200);
    expect(second.authorize.searchParams.get('prompt')).toBe('consent');

    const third = await f.beginLogin(client, 'google');
    expect(third.searchParams.has('prompt')).toBe(false);
  });

  it('does not force consent in another browser', async () => {
    await login(new BrowserClient(), false);
    const elsewhere = await f.beginLogin(new BrowserClient(), 'google');
    expect(elsewhere.searchParams.has('prompt')).toBe(false);
  });

  it('ends a session without refresh token no later than its access token', async () => {
    const client = new BrowserClient();
    const before = Date.now();
    await login(client, false);
    const sid = (await f.sidOf(client))!;
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
    const session = (await f.gateway.store.getSession(sid))!;
    expect(session.absoluteExpiresAt - before).toBeGreaterThanOrEqual(3_598_000);
    expect(session.absoluteExpiresAt - Date.now()).toBeLessThanOrEqual(3_599_000);
    expect(session.claims).toEqual({ name: 'Ada', email: 'ada@example.test' });
  });

  it('leaks no Google token into responses or logs', () => {
    for (const token of issued) f.watch.addSecret(token);
    expect(f.watch.secretCount).toBeGreaterThan(3);
    expect(f.watch.leaks()).toEqual([]);
  });
});
