import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER } from '../../demo/op.ts';
import { BrowserClient } from '../support/http.ts';
import { completeProviderForms, followMetaRefresh, loginThroughGateway } from '../support/login.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * A re-login ends the browser's previous session, with the gateway and the provider on two sites
 * (http://localhost and http://127.0.0.1) as in production: the provider's redirect to the
 * callback is cross-site and carries no SameSite=Strict session cookie, so the previous session
 * is found through the login transaction recorded at /auth/login (same-site, cookie sent).
 * Another user's previous session is revoked at the provider as logout does; the same user's
 * is only forgotten, since the provider reuses the grant for the new login.
 */

const ADA = { sub: 'ada-user', username: 'ada', password: 'ada-password', name: 'Ada', email: 'ada@example.test' };
let f: OidcFixture;

beforeAll(async () => {
  f = await startOidcFixture({ store: 'memory', publicHost: 'localhost', opOptions: { users: [DEMO_USER, ADA] } });
});

afterAll(async () => {
  await f?.close();
});

/** A login started from the gateway's own page (same-site), continued from the provider's site. */
async function loginAgain(client: BrowserClient, credentials: { username: string; password: string }): Promise<number> {
  const start = await client.request(`${f.origin}/auth/login?provider=${PROVIDER_ID}&returnTo=/`);
  expect(start.status).toBe(302);
  const atProvider = await client.navigate(start.location!, { initiator: f.op.issuer });
  const back = await completeProviderForms(client, atProvider, f.origin, credentials);
  const callback = back.chain.find((response) => new URL(response.url).pathname.startsWith('/auth/callback/'));
  expect(callback?.status).toBe(200);
  return (await followMetaRefresh(client, back)).response.status;
}

describe('logging in again in the same browser', () => {
  it('runs on two sites: the gateway is not the provider\'s site', () => {
    expect(new URL(f.origin).hostname).toBe('localhost');
    expect(new URL(f.op.issuer).hostname).toBe('127.0.0.1');
  });

  it('as the same user ends the previous session and keeps the new grant working', async () => {
    const first = await loginThroughGateway(`${f.origin}/auth/login?provider=${PROVIDER_ID}`, { username: DEMO_USER.username, password: DEMO_USER.password });
    const firstSid = (await f.sidOf(first.client))!;
    expect(firstSid).toBeDefined();
    await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, firstSid);

    await loginAgain(first.client, DEMO_USER);
    const secondSid = (await f.sidOf(first.client))!;
    expect(secondSid).not.toBe(firstSid);
    const secondTokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, secondSid))!;

    expect(await f.gateway.store.getSession(firstSid)).toBeNull();
    expect(await f.gateway.store.listUserSessions(PROVIDER_ID, DEMO_USER.sub)).toEqual([secondSid]);
    expect((await first.request(`${f.origin}/auth/session`)).status).toBe(200);
    await f.gateway.revoker.idle();
    expect((await f.op.introspect(secondTokens.refreshToken!)).active).toBe(true);
  });

  it('as another user ends the previous session and revokes its tokens at the provider', async () => {
    const first = await loginThroughGateway(`${f.origin}/auth/login?provider=${PROVIDER_ID}`, { username: DEMO_USER.username, password: DEMO_USER.password });
    const firstSid = (await f.sidOf(first.client))!;
    const firstTokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, firstSid))!;
    expect((await f.op.introspect(firstTokens.refreshToken!)).active).toBe(true);

    // Sign out at the provider only (its cookies), so that it asks who logs in.
    await first.client.jar.store.removeCookies('127.0.0.1', null);
    await loginAgain(first.client, ADA);
    const adaSid = (await f.sidOf(first.client))!;
    const adaTokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, adaSid))!;

    expect(await f.gateway.store.getSession(firstSid)).toBeNull();
    expect(await f.gateway.store.getSession(adaSid)).toMatchObject({ sub: ADA.sub });
    await f.gateway.revoker.idle();
    expect((await f.op.introspect(firstTokens.refreshToken!)).active).toBe(false);
    expect((await f.op.introspect(adaTokens.refreshToken!)).active).toBe(true);
  });

  it('no token appears in a response or a log line', async () => {
    expect(f.watch.leaks()).toEqual([]);
  });
});
