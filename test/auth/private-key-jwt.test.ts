import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWTPayload } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * private_key_jwt client authentication (RFC 7523, OIDC Core 9, RFC 9700 2.5) against the real
 * OpenID Provider, registered with `token_endpoint_auth_method: private_key_jwt` and the
 * client's public JWKS: the code exchange and the revocations at logout are authenticated by a
 * fresh assertion each (`iss` = `sub` = client, `aud` the issuer, unique `jti`, 60 s lifetime),
 * signed with the configured key (PEM or JWK) in the algorithm the key calls for.
 */

interface SeenAssertion {
  path: string;
  status: number;
  header: ReturnType<typeof decodeProtectedHeader>;
  claims: JWTPayload;
}

function recordAssertions(seen: SeenAssertion[]): Middleware {
  return async (ctx, next) => {
    await next();
    const params = (ctx as unknown as { oidc?: { params?: Record<string, unknown> } }).oidc?.params;
    const assertion = params?.['client_assertion'];
    if (typeof assertion === 'string') seen.push({ path: ctx.path, status: ctx.status, header: decodeProtectedHeader(assertion), claims: decodeJwt(assertion) });
  };
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

const keyForms = [
  {
    form: 'an RSA key as PEM',
    audience: 'issuer' as const,
    alg: 'RS256',
    privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicJwk: { ...rsa.publicKey.export({ format: 'jwk' }), use: 'sig' },
  },
  {
    form: 'an EC P-256 key as JWK, aud the token endpoint',
    audience: 'token_endpoint' as const,
    alg: 'ES256',
    privateKey: JSON.stringify({ ...ec.privateKey.export({ format: 'jwk' }), kid: 'tg-ec-1' }),
    publicJwk: { ...ec.publicKey.export({ format: 'jwk' }), kid: 'tg-ec-1', use: 'sig' },
  },
];

describe.each(keyForms)('private_key_jwt with $form', ({ alg, audience, privateKey, publicJwk }) => {
  const seen: SeenAssertion[] = [];
  let f: OidcFixture;

  beforeAll(async () => {
    f = await startOidcFixture({
      store: 'memory',
      provider: { tokenEndpointAuthMethod: 'private_key_jwt', privateKey, clientSecret: undefined, clientAssertionAudience: audience },
      opClient: { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [publicJwk] } },
      opOptions: { middleware: [recordAssertions(seen)] },
    });
  });

  afterAll(async () => {
    await f?.close();
  });

  const expectedAud = () => (audience === 'issuer' ? f.op.issuer : `${f.op.issuer}/token`);

  it('the code exchange and a refresh are authenticated by signed assertions the provider accepts', async () => {
    const login = await f.login('/home');
    const sid = await f.sidOf(login.client);
    expect(sid).toBeDefined();
    const tokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid!))!;
    const refreshed = await f.gateway.providers.get(PROVIDER_ID)!.refresh(tokens.refreshToken!);
    f.watch.addSecret(refreshed.accessToken, refreshed.refreshToken, refreshed.idToken);
    expect(seen.filter((entry) => entry.path === '/token' && entry.status === 200)).toHaveLength(2);

    const exchange = seen.find((entry) => entry.path === '/token');
    expect(exchange).toBeDefined();
    expect(exchange!.status).toBe(200);
    expect(exchange!.header.alg).toBe(alg);
    const { claims } = exchange!;
    expect(claims).toMatchObject({ iss: 'tokengate', sub: 'tokengate', aud: expectedAud() });
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims.exp! - claims.iat!).toBe(60);
    expect(Math.abs(claims.iat! - Date.now() / 1000)).toBeLessThan(30);
  });

  it('logout revokes the grant with fresh assertions, each with its own jti', async () => {
    const login = await f.login('/home');
    const sid = (await f.sidOf(login.client))!;
    const tokens = (await f.watch.collectSessionTokens(f.gateway.store, f.gateway.keyring, sid))!;
    expect((await f.op.introspect(tokens.refreshToken!)).active).toBe(true);

    const answer = await login.request(`${f.origin}/auth/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(answer.status).toBe(200);
    await f.gateway.revoker.idle();
    expect((await f.op.introspect(tokens.refreshToken!)).active).toBe(false);

    const revocations = seen.filter((entry) => entry.path === '/token/revocation');
    expect(revocations.length).toBeGreaterThanOrEqual(1);
    expect(revocations.every((entry) => entry.status === 200 && entry.header.alg === alg && entry.claims.aud === expectedAud())).toBe(true);
    const jtis = seen.map((entry) => entry.claims.jti);
    expect(new Set(jtis).size).toBe(jtis.length);
  });

  it('no token or key material reaches a response or a log line', async () => {
    f.watch.addSecret(privateKey.split('\n').find((line) => line.length > 40) ?? privateKey.slice(20, 80));
    expect(f.watch.leaks()).toEqual([]);
  });
});
