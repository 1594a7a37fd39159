import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys } from '../../demo/op-keys.ts';
import { StoreUnavailableError } from '../../src/errors.ts';
import { BACKCHANNEL_LOGOUT_EVENT } from '../../src/providers/logout-token.ts';
import type { Store } from '../../src/store/types.ts';
import { BrowserClient } from '../support/http.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * Back-channel logout against the real OpenID Provider (its own logout tokens, relayed and
 * recorded), on the memory store wrapped so that a test can make `destroySession` fail:
 * - a logout token without `exp` is refused (Back-Channel Logout 1.0 section 2.4: required);
 * - a store failure while ending the sessions answers 503 and spends nothing: the provider's
 *   retry of the same token succeeds (the `jti` is recorded only after success), and a later
 *   replay is refused;
 * - success is 200, empty, `Cache-Control: no-store`.
 */

const failures = { destroySession: 0 };
let signingKeys: { keys: JWK[] };
let f: OidcFixture;

function failingStore(inner: Store): Store {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'destroySession' && failures.destroySession > 0) {
        return async () => {
          failures.destroySession -= 1;
          throw new StoreUnavailableError();
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

beforeAll(async () => {
  signingKeys = await generateSigningKeys();
  f = await startOidcFixture({ store: 'memory', opOptions: { signingKeys }, wrapStore: failingStore });
});

afterAll(async () => {
  await f?.close();
});

function postLogoutToken(logoutToken: string) {
  return new BrowserClient().request(`${f.origin}/auth/backchannel-logout/${PROVIDER_ID}`, { method: 'POST', body: new URLSearchParams({ logout_token: logoutToken }) });
}

async function loggedIn(): Promise<{ client: BrowserClient; sid: string; providerSid: string }> {
  const login = await f.login();
  const sid = (await f.sidOf(login.client))!;
  await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid);
  const session = await f.gateway.store.getSession(sid);
  return { client: login.client, sid, providerSid: session!.providerSid! };
}

describe('back-channel logout', () => {
  it('a logout token without exp, signed by the provider\'s own key, is refused and ends nothing', async () => {
    const { sid, providerSid } = await loggedIn();
    const rsa = signingKeys.keys.find((key) => key.alg === 'RS256')!;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, sid: providerSid })
      .setProtectedHeader({ alg: 'RS256', kid: rsa.kid!, typ: 'logout+jwt' })
      .setIssuer(f.op.issuer)
      .setAudience('tokengate')
      .setSubject('demo-user')
      .setIssuedAt(now)
      .setJti(randomUUID())
      .sign(await importJWK(rsa, 'RS256'));
    const answer = await postLogoutToken(token);
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await f.gateway.store.getSession(sid)).not.toBeNull();
  });

  it('a store failure while ending the sessions answers 503, and the provider\'s retry of the same token succeeds', async () => {
    const { client, sid, providerSid } = await loggedIn();
    failures.destroySession = 1;
    await expect(f.op.sendBackchannelLogout({ sub: 'demo-user', sid: providerSid, clientId: 'tokengate' })).rejects.toThrow();
    expect(failures.destroySession).toBe(0);
    expect(await f.gateway.store.getSession(sid)).not.toBeNull();

    const logoutToken = f.logoutTokens.at(-1)!;
    f.watch.addSecret(logoutToken);
    const retry = await postLogoutToken(logoutToken);
    expect(retry.status).toBe(200);
    expect(retry.headers['cache-control']).toBe('no-store');
    expect(retry.text).toBe('');
    expect(await f.gateway.store.getSession(sid)).toBeNull();
    expect((await client.request(`${f.origin}/auth/session`)).status).toBe(401);

    const replay = await postLogoutToken(logoutToken);
    expect(replay.status).toBe(400);
    expect(replay.json()).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('the provider\'s own delivery is answered 200 (it resolves only then) and ends the session; a replay is 400, no-store', async () => {
    const { sid, providerSid } = await loggedIn();
    await f.op.sendBackchannelLogout({ sub: 'demo-user', sid: providerSid, clientId: 'tokengate' });
    expect(await f.gateway.store.getSession(sid)).toBeNull();
    const replay = await postLogoutToken(f.logoutTokens.at(-1)!);
    expect(replay.status).toBe(400);
    expect(replay.headers['cache-control']).toBe('no-store');
  });

  it('no token appears in a response or a log line', async () => {
    await f.gateway.revoker.idle();
    expect(f.watch.leaks()).toEqual([]);
  });
});
