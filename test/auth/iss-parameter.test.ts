import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient } from '../support/http.ts';
import { loginAtProvider } from '../providers/support/op-login.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture } from './helpers/oidc-fixture.ts';

/**
 * RFC 9207 against the real OpenID Provider, whose discovery says
 * `authorization_response_iss_parameter_supported: true`: a genuine authorization response (a
 * real code for this browser's login) is refused without `iss` (section 2.4) and with another
 * issuer's `iss` (the mix-up defence), and accepted with the provider's own.
 */

let f: OidcFixture;

beforeAll(async () => {
  f = await startOidcFixture({ store: 'memory' });
});

afterAll(async () => {
  await f?.close();
});

/** Starts a login in a fresh browser and signs in at the provider; returns the browser and the provider's redirect back. */
async function authorizationResponse(): Promise<{ client: BrowserClient; callback: URL }> {
  const client = new BrowserClient();
  const start = await client.request(`${f.origin}/auth/login?provider=${PROVIDER_ID}&returnTo=/home`);
  expect(start.status).toBe(302);
  const callback = await loginAtProvider(new URL(start.location!), `${f.origin}/auth/callback/${PROVIDER_ID}`);
  return { client, callback };
}

describe('the authorization response issuer (RFC 9207)', () => {
  it('the provider advertises iss and sends it', async () => {
    const metadata = (await (await fetch(`${f.op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata['authorization_response_iss_parameter_supported']).toBe(true);
    const { callback } = await authorizationResponse();
    expect(callback.searchParams.get('iss')).toBe(f.op.issuer);
  });

  it('a response without iss is refused with 400 and no session, though its code is genuine', async () => {
    const { client, callback } = await authorizationResponse();
    callback.searchParams.delete('iss');
    const answer = await client.request(callback);
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await f.sidOf(client)).toBeUndefined();
    expect(f.watch.logLines.some((line) => line.includes('"issuer_mismatch"') && line.includes('"missing":true'))).toBe(true);
  });

  it('a response with another issuer is refused with 400 and no session (mix-up)', async () => {
    const { client, callback } = await authorizationResponse();
    callback.searchParams.set('iss', 'https://evil.example');
    const answer = await client.request(callback);
    expect(answer.status).toBe(400);
    expect(answer.json()).toMatchObject({ code: 'BAD_REQUEST' });
    expect(await f.sidOf(client)).toBeUndefined();
  });

  it('the same response with the provider\'s iss logs the user in', async () => {
    const { client, callback } = await authorizationResponse();
    const answer = await client.request(callback);
    expect(answer.status).toBe(200);
    expect(await f.sidOf(client)).toBeDefined();
  });
});
