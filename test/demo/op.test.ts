import { createServer } from 'node:http';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeServer, listenOnLoopback } from '../../demo/listen.ts';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { BrowserClient } from '../support/http.ts';
import { completeProviderForms, loginThroughGateway } from '../support/login.ts';
import { startRelyingParty, type TestRelyingParty } from './relying-party.ts';

const DEMO = { username: 'demo', password: 'demo' };

let rp: TestRelyingParty;
let op: OpenIdProviderHandle;

interface Tokens {
  access_token: string;
  refresh_token: string;
  id_token: string;
  expires_in: number;
}

async function loginAndExchange(): Promise<Tokens> {
  const login = await loginThroughGateway(`${rp.url}/login`, DEMO);
  expect(login.status).toBe(200);
  const code = rp.callbacks.at(-1)?.code;
  if (code === undefined) throw new Error('no code came back');
  const answer = await rp.exchangeCode(code);
  expect(answer.status).toBe(200);
  return answer.body as unknown as Tokens;
}

beforeAll(async () => {
  rp = await startRelyingParty();
  op = await startOpenIdProvider({ clients: [rp.client], accessTokenTtl: 120 });
  rp.useIssuer(op.issuer);
});

afterAll(async () => {
  await op?.close();
  await rp?.close();
});

beforeEach(() => op.resetStats());

describe('startup', () => {
  it('starts in well under a second on a free loopback port', async () => {
    const started = performance.now();
    const other = await startOpenIdProvider();
    try {
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(other.issuer).toBe(`http://127.0.0.1:${other.port}`);
      expect(other.port).not.toBe(op.port);
    } finally {
      await other.close();
    }
  });

  it('publishes discovery with PKCE S256, introspection, revocation and both logouts', async () => {
    const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery['issuer']).toBe(op.issuer);
    expect(discovery['code_challenge_methods_supported']).toEqual(['S256']);
    expect(discovery['introspection_endpoint']).toBe(`${op.issuer}/token/introspection`);
    expect(discovery['revocation_endpoint']).toBe(`${op.issuer}/token/revocation`);
    expect(discovery['end_session_endpoint']).toBe(`${op.issuer}/session/end`);
    expect(discovery['backchannel_logout_supported']).toBe(true);
    expect(discovery['response_types_supported']).toEqual(['code']);
  });
});

describe('login through the provider forms', () => {
  it('signs in with the configured password, consents, and returns a code with the state and iss', async () => {
    const login = await loginThroughGateway(`${rp.url}/login`, DEMO);
    expect(login.finalUrl.startsWith(`${rp.url}/callback?`)).toBe(true);
    expect(login.status).toBe(200);
    const callback = rp.callbacks.at(-1);
    expect(callback?.code).toEqual(expect.any(String));
    expect(callback?.state).toBe(rp.transaction?.state);
    expect(callback?.iss).toBe(op.issuer);
    const forms = login.chain.filter((step) => step.url.includes('/interaction/') && step.status === 200).length;
    expect(forms).toBe(2);
  });

  it('rejects a wrong password on the provider page and sends nothing back', async () => {
    const before = rp.callbacks.length;
    const login = await loginThroughGateway(`${rp.url}/login`, { username: 'demo', password: 'nope' });
    expect(login.status).toBe(401);
    expect(new URL(login.finalUrl).origin).toBe(op.issuer);
    expect(login.response.text).toContain('Wrong username or password');
    expect(rp.callbacks.length).toBe(before);
  });

  it('requires PKCE: a request without a code challenge comes back as invalid_request', async () => {
    const login = await loginThroughGateway(`${rp.url}/login?pkce=off`, DEMO);
    expect(login.finalUrl.startsWith(`${rp.url}/callback?`)).toBe(true);
    expect(rp.callbacks.at(-1)?.error).toBe('invalid_request');
    expect(rp.callbacks.at(-1)?.code).toBeUndefined();
  });

  it('refuses a code exchange with the wrong verifier', async () => {
    await loginThroughGateway(`${rp.url}/login`, DEMO);
    const answer = await rp.exchangeCode(rp.callbacks.at(-1)?.code ?? '', 'x'.repeat(43));
    expect(answer.status).toBe(400);
    expect(answer.body['error']).toBe('invalid_grant');
    expect(op.stats.codeGrants).toBe(0);
  });
});

describe('tokens', () => {
  it('exchanges the code for an access token, a refresh token and an ID token signed by the provider keys', async () => {
    const tokens = await loginAndExchange();
    expect(op.stats.codeGrants).toBe(1);
    expect(tokens.expires_in).toBe(120);
    expect(tokens.refresh_token).toEqual(expect.any(String));
    const { payload } = await jwtVerify(tokens.id_token, createRemoteJWKSet(new URL(`${op.issuer}/jwks`)), {
      issuer: op.issuer,
      audience: rp.client.clientId,
    });
    expect(payload).toMatchObject({ sub: 'demo-user', name: 'Demo User', email: 'demo@example.test', nonce: rp.transaction?.nonce });
    expect(payload['sid']).toEqual(expect.any(String));
  });

  it('rotates the refresh token, and a reused one revokes the whole grant', async () => {
    const tokens = await loginAndExchange();
    const refreshed = await rp.refresh(tokens.refresh_token);
    expect(refreshed.status).toBe(200);
    const rotated = refreshed.body['refresh_token'];
    expect(rotated).toEqual(expect.any(String));
    expect(rotated).not.toBe(tokens.refresh_token);
    expect(op.stats.refreshGrants).toBe(1);

    const reused = await rp.refresh(tokens.refresh_token);
    expect(reused.status).toBe(400);
    expect(reused.body['error']).toBe('invalid_grant');
    expect(op.stats.refreshReuse).toBe(1);
    expect(op.stats.refreshErrors).toBe(1);

    const afterReuse = await rp.refresh(String(rotated));
    expect(afterReuse.body['error']).toBe('invalid_grant');
    expect(op.stats.refreshReuse).toBe(1);
    expect(op.stats.refreshErrors).toBe(2);
    expect((await op.introspect(String(refreshed.body['access_token']))).active).toBe(false);
  });

  it('keeps the refresh token when rotation is off', async () => {
    const stable = await startOpenIdProvider({ clients: [rp.client], rotateRefreshToken: false });
    rp.useIssuer(stable.issuer);
    try {
      const tokens = await loginAndExchange();
      const first = await rp.refresh(tokens.refresh_token);
      const second = await rp.refresh(tokens.refresh_token);
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(first.body['refresh_token']).toBe(tokens.refresh_token);
      expect(stable.stats.refreshGrants).toBe(2);
      expect(stable.stats.refreshReuse).toBe(0);
    } finally {
      rp.useIssuer(op.issuer);
      await stable.close();
    }
  });

  it('introspects access tokens as active Bearer tokens of the user, and counts the calls', async () => {
    const tokens = await loginAndExchange();
    const answer = await op.introspect(tokens.access_token);
    expect(answer).toMatchObject({ active: true, sub: 'demo-user', client_id: rp.client.clientId, token_type: 'Bearer' });
    expect((await op.introspect('not-a-token')).active).toBe(false);
    expect(op.stats.introspections).toBe(2);
  });

  it('revokes one access token behind the client’s back while its refresh token keeps working', async () => {
    const tokens = await loginAndExchange();
    expect(await op.revokeAccessToken(tokens.access_token)).toBe(true);
    expect((await op.introspect(tokens.access_token)).active).toBe(false);
    expect((await rp.refresh(tokens.refresh_token)).status).toBe(200);
    expect(await op.revokeAccessToken(tokens.access_token)).toBe(false);
  });

  it('revokes a whole grant behind the client’s back', async () => {
    const tokens = await loginAndExchange();
    expect(await op.revokeGrantOf(tokens.refresh_token)).toBe(true);
    expect((await op.introspect(tokens.access_token)).active).toBe(false);
    expect((await rp.refresh(tokens.refresh_token)).body['error']).toBe('invalid_grant');
    expect(op.stats.refreshReuse).toBe(0);
  });

  it('accepts RFC 7009 revocation from the client and counts it', async () => {
    const tokens = await loginAndExchange();
    expect(await rp.revoke(tokens.refresh_token, 'refresh_token')).toBe(200);
    expect(op.stats.revocations).toBe(1);
    expect((await rp.refresh(tokens.refresh_token)).body['error']).toBe('invalid_grant');
  });
});

describe('token endpoint shaping', () => {
  it('delays token requests by the configured latency', async () => {
    const tokens = await loginAndExchange();
    op.setTokenEndpointDelay(150);
    try {
      const started = performance.now();
      expect((await rp.refresh(tokens.refresh_token)).status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    } finally {
      op.setTokenEndpointDelay(0);
    }
  });

  it('fails the next token requests with the injected status, then recovers', async () => {
    const tokens = await loginAndExchange();
    op.failTokenRequests(1, 503);
    const failed = await rp.refresh(tokens.refresh_token);
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(failed.body['error']).toBe('temporarily_unavailable');
    expect((await rp.refresh(tokens.refresh_token)).status).toBe(200);
    expect(op.stats.refreshGrants).toBe(1);
  });
});

describe('logout', () => {
  it('sends a signed back-channel logout token with sub and sid on demand', async () => {
    const tokens = await loginAndExchange();
    const { sub, sid } = decodeJwt(tokens.id_token) as { sub: string; sid: string };
    await op.sendBackchannelLogout({ sub, sid });
    const logoutToken = rp.logoutTokens.at(-1);
    if (logoutToken === undefined) throw new Error('no logout token arrived');
    const { payload } = await jwtVerify(logoutToken, createRemoteJWKSet(new URL(`${op.issuer}/jwks`)), {
      issuer: op.issuer,
      audience: rp.client.clientId,
      typ: 'logout+jwt',
    });
    expect(payload).toMatchObject({ sub, sid, events: { 'http://schemas.openid.net/event/backchannel-logout': {} } });
    expect(payload['nonce']).toBeUndefined();
  });

  it('sends the back-channel logout itself when the user ends the provider session', async () => {
    const client = new BrowserClient();
    await loginThroughGateway(`${rp.url}/login`, DEMO, { client });
    const answer = await rp.exchangeCode(rp.callbacks.at(-1)?.code ?? '');
    const idToken = String(answer.body['id_token']);
    const before = rp.logoutTokens.length;
    const endSession = new URL(`${op.issuer}/session/end`);
    endSession.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: `${rp.url}/logged-out` }).toString();
    const done = await completeProviderForms(client, await client.navigate(endSession, { initiator: rp.url }), rp.url, undefined);
    expect(done.response.url).toBe(`${rp.url}/logged-out`);
    expect(rp.logoutTokens.length).toBe(before + 1);
    expect(decodeJwt(rp.logoutTokens.at(-1) ?? '')['sid']).toBe(decodeJwt(idToken)['sid']);
    // Tokens issued without offline_access are bound to the provider session it just ended.
    expect((await op.introspect(String(answer.body['access_token']))).active).toBe(false);
    expect((await rp.refresh(String(answer.body['refresh_token']))).body['error']).toBe('invalid_grant');
  });
});

describe('stop and start', () => {
  it('stops answering, then comes back on the same port with its tokens intact', async () => {
    const tokens = await loginAndExchange();
    const { port } = op;
    await op.stop();
    expect(op.running).toBe(false);
    await expect(fetch(`${op.issuer}/jwks`)).rejects.toThrow();
    await op.start();
    expect(op.running).toBe(true);
    expect(op.port).toBe(port);
    expect((await op.introspect(tokens.access_token)).active).toBe(true);
    expect((await rp.refresh(tokens.refresh_token)).status).toBe(200);
  });
});

describe('the test browser', () => {
  it('keeps a __Host- Secure SameSite=Strict cookie on http://127.0.0.1 and sends it back same-site only', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/set') res.setHeader('set-cookie', '__Host-tg=opaque; Path=/; Secure; HttpOnly; SameSite=Strict');
      res.writeHead(200, { 'content-type': 'text/plain' }).end(req.headers.cookie ?? '');
    });
    const port = await listenOnLoopback(server);
    try {
      const client = new BrowserClient();
      const set = await client.request(`http://127.0.0.1:${port}/set`);
      expect(set.setCookies).toEqual(['__Host-tg=opaque; Path=/; Secure; HttpOnly; SameSite=Strict']);
      expect(client.receivedSetCookies).toEqual([{ from: `http://127.0.0.1:${port}/set`, header: set.setCookies[0] }]);
      expect((await client.request(`http://127.0.0.1:${port}/echo`)).text).toBe('__Host-tg=opaque');
      const crossSite = await client.request(`http://127.0.0.1:${port}/echo`, { initiator: 'http://localhost:1' });
      expect(crossSite.text).toBe('');
      expect(await client.cookieNames(`http://127.0.0.1:${port}/`)).toEqual(['__Host-tg']);
    } finally {
      await closeServer(server);
    }
  });
});
