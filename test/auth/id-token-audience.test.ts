import { SignJWT, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeys } from '../../demo/op-keys.ts';
import { startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * ID token audiences (OIDC Core 3.1.3.7 step 3) against the real OpenID Provider. The provider
 * always issues `aud: <client>`; here its token endpoint answer is re-signed with the provider's
 * own signing key (served by its real JWKS endpoint) with one more audience and `azp` the client,
 * as a provider serving several audiences would. Only the client and the configured
 * `trustedAudiences` are accepted, whatever `azp` says.
 */

const CLIENT_ID = 'tokengate';
const extraAudience: { value: string | undefined } = { value: undefined };
let f: OidcFixture;

beforeAll(async () => {
  const signingKeys = await generateSigningKeys();
  const addAudience: Middleware = async (ctx, next) => {
    await next();
    const body = ctx.body as Record<string, unknown> | undefined;
    if (ctx.method !== 'POST' || ctx.path !== '/token' || typeof body?.['id_token'] !== 'string' || extraAudience.value === undefined) return;
    const idToken = body['id_token'];
    const header = decodeProtectedHeader(idToken);
    const jwk = signingKeys.keys.find((key) => key.kid === header.kid)!;
    const payload = { ...decodeJwt(idToken), aud: [CLIENT_ID, extraAudience.value], azp: CLIENT_ID };
    ctx.body = { ...body, id_token: await new SignJWT(payload).setProtectedHeader({ alg: header.alg!, kid: header.kid! }).sign(await importJWK(jwk, header.alg)) };
  };
  f = await startOidcFixture({ store: 'memory', provider: { trustedAudiences: ['reports-api'] }, opOptions: { signingKeys, middleware: [addAudience] } });
});

afterAll(async () => {
  await f?.close();
});

describe('ID token audiences', () => {
  it('an ID token naming a trusted extra audience (azp the client) logs the user in', async () => {
    extraAudience.value = 'reports-api';
    const login = await f.login('/home');
    expect(login.status).not.toBe(400);
    expect(new URL(login.finalUrl).pathname).toBe('/home');
    expect(await f.sidOf(login.client)).toBeDefined();
  });

  it('an ID token naming an untrusted extra audience is refused, though azp is the client', async () => {
    extraAudience.value = 'unknown-api';
    const login = await f.login('/home');
    expect(login.status).toBe(400);
    // The callback is a page navigation: the error comes as the HTML error page, with its code.
    expect(login.response.headers['content-type']).toMatch(/^text\/html/);
    expect(login.response.text).toContain('BAD_REQUEST');
    expect(new URL(login.finalUrl).pathname).toMatch(/^\/auth\/callback\//);
    expect(await f.sidOf(login.client)).toBeUndefined();
    expect(f.watch.logLines.some((line) => line.includes('an audience is not trusted'))).toBe(true);
  });
});
