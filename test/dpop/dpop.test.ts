import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, decodeProtectedHeader, EmbeddedJWK, exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DPOP_SEAL_FIELD } from '../../src/dpop/sealed-key.ts';
import { accessTokenHash, signProof } from '../../src/dpop/proof.ts';
import { DecryptionFailedError } from '../../src/errors.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { CSRF_HEADER } from '../support/http.ts';
import { sidOf, storedTokens } from '../proxy/session-tokens.ts';
import { startTestUpstream, type TestUpstream } from '../proxy/upstream.ts';
import { openWebSocket } from '../proxy/websocket-tunnel.ts';
import { manualClock } from '../tokens/fixture.ts';

/**
 * DPoP (RFC 9449) end to end: the real oidc-provider issuing the gateway only DPoP-bound tokens,
 * the sample API checking every proof with jose (thumbprint = the token's cnf.jkt, htm, htu, ath,
 * iat, single-use jti), and a second upstream whose request log an attacker reads.
 */

const csrf = { [CSRF_HEADER.name]: CSRF_HEADER.value };
const MINUTE = 60_000;

describe('DPoP-bound sessions', () => {
  const clock = manualClock();
  let upstream: TestUpstream;
  let stack: GatewayStack;

  beforeAll(async () => {
    upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
    stack = await startGatewayStack({
      dpop: {},
      accessTokenTtl: 600,
      now: clock.now,
      routes: ({ api }) => [
        { prefix: '/api', upstream: api },
        { prefix: '/t', upstream: upstream.url, stripPrefix: true },
      ],
    });
  });

  afterAll(async () => {
    await stack?.close();
    await upstream?.close();
  });

  it('a login seals a key of its own under <sid>|dpop and the provider binds the access token to it', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const { gateway } = stack.instances[0]!;
    const sid = await sidOf(browser, stack);
    const stored = (await gateway.store.getTokens(sid))!;
    expect(stored.dpopKey).toMatch(/^v1\./);
    expect(stored.tokenType).toBe('DPoP');
    // Sealed like the tokens: it opens as this session's `dpop` field only.
    const jwk = JSON.parse(gateway.keyring.open(stored.dpopKey!, sid, DPOP_SEAL_FIELD)) as JWK;
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' });
    expect(typeof jwk.d).toBe('string');
    expect(() => gateway.keyring.open(stored.dpopKey!, sid, 'access')).toThrow(DecryptionFailedError);
    expect(JSON.stringify(stored)).not.toContain(jwk.d!);

    const opened = (await storedTokens(stack, browser))!;
    const introspection = await stack.op.introspect(opened.accessToken);
    expect(introspection.token_type).toBe('DPoP');
    expect((introspection['cnf'] as { jkt?: string }).jkt).toBe(await calculateJwkThumbprint({ kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! }));
  });

  it('proxied requests carry Authorization: DPoP and a proof the API accepts; each session has its own key', async () => {
    clock.set(Date.now());
    const [alice, bob] = [await stack.login(), await stack.login()];
    stack.api.requests.length = 0;
    for (const browser of [alice, bob, alice]) {
      const res = await browser.request(`${stack.url}/api/orders?page=2`, { method: 'POST', json: { a: 1 }, headers: csrf });
      expect(res.status).toBe(200);
    }
    expect(stack.api.requests.map((r) => [r.scheme, r.status])).toEqual([['DPoP', 200], ['DPoP', 200], ['DPoP', 200]]);
    const { store } = stack.instances[0]!.gateway;
    const keys = await Promise.all([alice, bob].map(async (b) => (await store.getTokens(await sidOf(b, stack)))!.dpopKey));
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('a token stolen from an upstream log is useless without the session key', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    upstream.seen.length = 0;
    expect((await browser.request(`${stack.url}/t/echo`, { headers: csrf })).status).toBe(200);
    const logged = upstream.seen.at(-1)!.headers;
    expect(logged.authorization).toMatch(/^DPoP /);
    const token = String(logged.authorization).slice('DPoP '.length);
    const loggedProof = String(logged.dpop);
    expect(decodeProtectedHeader(loggedProof)).toMatchObject({ typ: 'dpop+jwt', alg: 'ES256' });

    const target = `${stack.api.url}/orders`;
    const call = (headers: Record<string, string>) => fetch(target, { headers, signal: AbortSignal.timeout(5_000) });
    // As a bearer token.
    expect((await call({ authorization: `Bearer ${token}` })).status).toBe(401);
    // As a DPoP token without a proof, and with the proof from the log (another URL, already used).
    expect((await call({ authorization: `DPoP ${token}` })).status).toBe(401);
    expect((await call({ authorization: `DPoP ${token}`, dpop: loggedProof })).status).toBe(401);
    // With a well-formed proof for this very request, signed by the attacker's own key.
    const attacker = await generateKeyPair('ES256');
    const forged = await new SignJWT({ htm: 'GET', htu: target, ath: accessTokenHash(token) })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(attacker.publicKey) })
      .setIssuedAt()
      .setJti(randomUUID())
      .sign(attacker.privateKey);
    expect((await call({ authorization: `DPoP ${token}`, dpop: forged })).status).toBe(401);

    // The same request with a proof of the session's own key passes: the refusals above are the key's doing.
    const { gateway } = stack.instances[0]!;
    const sid = await sidOf(browser, stack);
    const key = (await gateway.tokens.dpopKey(sid, await gateway.store.getTokens(sid)))!;
    const genuine = await signProof(key, { htm: 'GET', htu: target, accessToken: token });
    expect((await call({ authorization: `DPoP ${token}`, dpop: genuine })).status).toBe(200);
  });

  it('a WebSocket handshake carries a proof of the session key for the upstream GET', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    upstream.seen.length = 0;
    const socket = await openWebSocket(`${stack.url}/t/ws?room=1`, { cookie: await browser.jar.getCookieString(stack.url) });
    socket.socket.destroy();
    const { headers } = upstream.seen.at(-1)!;
    const opened = (await storedTokens(stack, browser))!;
    expect(headers.authorization).toBe(`DPoP ${opened.accessToken}`);
    const { payload, protectedHeader } = await jwtVerify(String(headers.dpop), EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
    expect(payload).toMatchObject({ htm: 'GET', htu: `${upstream.url}/ws`, ath: accessTokenHash(opened.accessToken) });
    const introspection = await stack.op.introspect(opened.accessToken);
    expect(await calculateJwkThumbprint(protectedHeader.jwk!)).toBe((introspection['cnf'] as { jkt: string }).jkt);
  });

  it('a DPoP key that cannot be opened ends the session (401), as any corrupt token set does', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const { store, keyring } = stack.instances[0]!.gateway;
    const sid = await sidOf(browser, stack);
    const stored = (await store.getTokens(sid))!;
    const { ver: _ver, ...fields } = stored;
    // Sealed for another session: it fails to open under this sid.
    expect((await store.compareAndSetTokens(sid, stored.ver, { ...fields, dpopKey: keyring.seal('{}', 'another-sid', DPOP_SEAL_FIELD) })).ok).toBe(true);
    expect((await browser.request(`${stack.url}/api/corrupt`, { headers: csrf })).status).toBe(401);
    expect(await store.getSession(sid)).toBeNull();
  });

  it('a refresh keeps the session key and the new token is bound to it', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const before = (await stack.instances[0]!.gateway.store.getTokens(await sidOf(browser, stack)))!;
    stack.op.resetStats();
    clock.advance(10 * MINUTE + 1_000);
    const res = await browser.request(`${stack.url}/api/after-refresh`, { headers: csrf });
    expect(res.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    const after = (await stack.instances[0]!.gateway.store.getTokens(await sidOf(browser, stack)))!;
    expect(after.ver).toBe(before.ver + 1);
    expect(after.dpopKey).toBe(before.dpopKey);
    expect(stack.api.requests.at(-1)).toMatchObject({ scheme: 'DPoP', status: 200 });
  });

  it('logout revokes the tokens as before', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    const opened = (await storedTokens(stack, browser))!;
    stack.op.resetStats();
    const res = await browser.request(`${stack.url}/auth/logout`, { method: 'POST', headers: csrf });
    expect(res.status).toBeLessThan(400);
    await stack.instances[0]!.gateway.revoker.idle();
    expect(stack.op.stats.revocations).toBeGreaterThanOrEqual(1);
    expect((await stack.op.introspect(opened.accessToken)).active).toBe(false);
  });
});

describe('DPoP nonces', () => {
  const clock = manualClock();
  let stack: GatewayStack;

  beforeAll(async () => {
    stack = await startGatewayStack({ dpop: { providerNonce: true, apiNonce: true }, accessTokenTtl: 600, now: clock.now });
  });

  afterAll(async () => {
    await stack?.close();
  });

  it('the token endpoint asks for a nonce: login and refresh each succeed with one grant', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    expect((await storedTokens(stack, browser))?.tokenType).toBe('DPoP');
    stack.op.resetStats();
    clock.advance(10 * MINUTE + 1_000);
    const res = await browser.request(`${stack.url}/api/refreshed`, { headers: csrf });
    expect(res.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });

  it('an upstream use_dpop_nonce 401 is sent once more with its nonce, without a refresh', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    stack.op.resetStats();
    // A nonce the gateway has not heard yet (an earlier test may have taught it the current one).
    stack.api.dpop.rotateNonce();
    stack.api.requests.length = 0;
    const first = await browser.request(`${stack.url}/api/one`, { method: 'POST', json: { n: 1 }, headers: csrf });
    expect(first.status).toBe(200);
    // The API was asked twice (the first proof had no nonce); later requests carry it at once.
    expect(stack.api.requests.map((r) => r.status)).toEqual([401, 200]);
    expect((await browser.request(`${stack.url}/api/two`, { headers: csrf })).status).toBe(200);
    expect(stack.api.requests).toHaveLength(3);
    // A rotated nonce costs one more resend, never a refresh.
    stack.api.dpop.rotateNonce();
    expect((await browser.request(`${stack.url}/api/three`, { headers: csrf })).status).toBe(200);
    expect(stack.api.requests.map((r) => r.status)).toEqual([401, 200, 200, 401, 200]);
    expect(stack.op.stats.refreshGrants).toBe(0);
  });

  it('concurrent requests that all meet a new upstream nonce are each sent once more, none refreshes', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    stack.op.resetStats();
    stack.api.dpop.rotateNonce();
    stack.api.requests.length = 0;
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => browser.request(`${stack.url}/api/burst/${i}`, { headers: csrf })));
    expect(answers.map((res) => res.status)).toEqual(Array(20).fill(200));
    expect(stack.op.stats.refreshGrants).toBe(0);
    expect(stack.api.requests.filter((r) => r.status === 200)).toHaveLength(20);
  });

  it('a 401 invalid_token still takes the refresh path, and the replay proves the new token', async () => {
    clock.set(Date.now());
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/api/warm`, { headers: csrf })).status).toBe(200);
    const before = (await storedTokens(stack, browser))!;
    expect(await stack.op.revokeAccessToken(before.accessToken)).toBe(true);
    stack.op.resetStats();
    stack.api.requests.length = 0;
    const res = await browser.request(`${stack.url}/api/after-revoke`, { method: 'PUT', json: { n: 1 }, headers: csrf });
    expect(res.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.api.requests.map((r) => r.status)).toEqual([401, 200]);
    expect((await storedTokens(stack, browser))!.accessToken).not.toBe(before.accessToken);
  });
});
