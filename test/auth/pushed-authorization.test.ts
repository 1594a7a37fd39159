import { generateKeyPairSync } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Middleware } from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrowserClient, type BrowserResponse } from '../support/http.ts';
import { PROVIDER_ID, startOidcFixture, type OidcFixture, type OidcFixtureOptions } from './helpers/oidc-fixture.ts';

/**
 * Pushed authorization requests (RFC 9126) against the real OpenID Provider: the login POSTs
 * the authorization parameters to the provider's pushed authorization request endpoint (with
 * the token endpoint's client authentication) and sends the browser on with only `client_id`
 * and the returned `request_uri`. A provider that requires pushed requests (for every client or
 * for this one) logs the user in; one that does not offer them, with `par: required`, gets no
 * login started. A push that fails says whether to try again later (503) or not (502).
 */

interface SeenPush {
  status: number;
  params: Record<string, unknown>;
  basicAuthorization: boolean;
}

/** Records every pushed authorization request the provider processed. */
function recordPushes(seen: SeenPush[]): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== '/request') return;
    // The form as sent (the provider's own `params` are already filtered, e.g. its scopes).
    const params = (ctx as unknown as { oidc?: { body?: Record<string, unknown> } }).oidc?.body ?? {};
    seen.push({ status: ctx.status, params: { ...params }, basicAuthorization: /^Basic /.test(ctx.get('authorization')) });
  };
}

/** Answers the next pushes with `status` (and Retry-After), or drops their connection. */
function failPushes(plan: { left: number; status: number | 'drop'; retryAfter?: string }): Middleware {
  return async (ctx, next) => {
    if (ctx.method !== 'POST' || ctx.path !== '/request' || plan.left === 0) return next();
    plan.left -= 1;
    if (plan.status === 'drop') {
      ctx.req.socket.destroy();
      return;
    }
    ctx.status = plan.status;
    if (plan.retryAfter !== undefined) ctx.set('retry-after', plan.retryAfter);
    ctx.body = { error: 'temporarily_unavailable' };
  };
}

async function startLogin(f: OidcFixture, client = new BrowserClient()): Promise<BrowserResponse> {
  return client.request(`${f.origin}/auth/login?provider=${PROVIDER_ID}&returnTo=/home`, { headers: { accept: 'application/json' } });
}

function expectNoLoginStarted(answer: BrowserResponse): void {
  expect(answer.location).toBeUndefined();
  expect(answer.setCookies).toEqual([]);
}

const fixtures: OidcFixture[] = [];
async function fixture(options: Omit<OidcFixtureOptions, 'store'>): Promise<OidcFixture> {
  const f = await startOidcFixture({ store: 'memory', ...options });
  fixtures.push(f);
  return f;
}

afterAll(async () => {
  for (const f of fixtures) await f.close();
});

describe('a provider that requires pushed authorization requests', () => {
  const seen: SeenPush[] = [];
  let f: OidcFixture;

  beforeAll(async () => {
    f = await fixture({ opOptions: { pushedAuthorizationRequests: { required: true }, middleware: [recordPushes(seen)] } });
  });

  it('advertises the endpoint and the requirement', async () => {
    const metadata = (await (await fetch(`${f.op.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(metadata['pushed_authorization_request_endpoint']).toBe(`${f.op.issuer}/request`);
    expect(metadata['require_pushed_authorization_requests']).toBe(true);
  });

  it('a full login works (par: auto), and the browser is sent on with only client_id and request_uri', async () => {
    const login = await f.login('/home?tab=2');
    expect(login.finalUrl).toBe(`${f.origin}/home?tab=2`);
    expect(await f.sidOf(login.client)).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const start = login.chain[0]!;
    expect(start.url).toBe(`${f.origin}/auth/login?provider=${PROVIDER_ID}&returnTo=${encodeURIComponent('/home?tab=2')}`);
    expect(start.status).toBe(302);
    const location = new URL(start.location!);
    expect(`${location.origin}${location.pathname}`).toBe(`${f.op.issuer}/auth`);
    expect([...location.searchParams.keys()].sort()).toEqual(['client_id', 'request_uri']);
    expect(location.searchParams.get('client_id')).toBe('tokengate');
    expect(location.searchParams.get('request_uri')).toMatch(/^urn:ietf:params:oauth:request_uri:/);
  });

  it('the provider received the parameters in the push, with client_secret_basic', async () => {
    const push = seen.at(-1)!;
    expect(push.status).toBe(201);
    expect(push.basicAuthorization).toBe(true);
    expect(push.params).toMatchObject({
      response_type: 'code',
      client_id: 'tokengate',
      redirect_uri: `${f.origin}/auth/callback/${PROVIDER_ID}`,
      scope: 'openid profile email offline_access',
      code_challenge_method: 'S256',
      state: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
      code_challenge: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(push.params['client_secret']).toBeUndefined();
  });

  it('with par: off the login is refused before the browser is sent to the provider', async () => {
    const off = await fixture({ provider: { par: 'off' }, opOptions: { pushedAuthorizationRequests: { required: true } } });
    const answer = await startLogin(off);
    expect(answer.status).toBe(502);
    expect(answer.json()).toMatchObject({ code: 'PAR_UNSUPPORTED', error: expect.stringContaining('par: off') });
    expectNoLoginStarted(answer);
  });

  it('no token appears in any response the browser saw or any log line', () => {
    expect(f.watch.leaks()).toEqual([]);
  });
});

describe('a client registered to require pushed authorization requests', () => {
  it('logs in with par: required (client_secret_post)', async () => {
    const f = await fixture({
      provider: { par: 'required', tokenEndpointAuthMethod: 'client_secret_post' },
      opClient: { requirePushedAuthorizationRequests: true, tokenEndpointAuthMethod: 'client_secret_post' },
    });
    const login = await f.login('/x');
    expect(login.finalUrl).toBe(`${f.origin}/x`);
    expect(await f.sidOf(login.client)).toBeDefined();
  });

  it('the provider refuses the same login sent in the URL (par: off): the requirement is real', async () => {
    const f = await fixture({ provider: { par: 'off' }, opClient: { requirePushedAuthorizationRequests: true } });
    const start = await startLogin(f);
    expect(start.status).toBe(302);
    const atProvider = await new BrowserClient().request(start.location!);
    // Back to the callback with an error instead of a login form.
    expect(atProvider.status).toBe(303);
    const refusal = new URL(atProvider.location!);
    expect(`${refusal.origin}${refusal.pathname}`).toBe(`${f.origin}/auth/callback/${PROVIDER_ID}`);
    expect(refusal.searchParams.get('error')).toBe('invalid_request');
    expect(refusal.searchParams.get('error_description')).toMatch(/pushed authorization request/i);
  });
});

describe('a provider without pushed authorization requests', () => {
  let f: OidcFixture;

  beforeAll(async () => {
    f = await fixture({ provider: { par: 'required' }, opOptions: { pushedAuthorizationRequests: { enabled: false } } });
  });

  it('par: required refuses the login with 502 PAR_UNSUPPORTED and starts nothing', async () => {
    const answer = await startLogin(f);
    expect(answer.status).toBe(502);
    expect(answer.json()).toMatchObject({ code: 'PAR_UNSUPPORTED', error: expect.stringContaining('par: required') });
    expectNoLoginStarted(answer);
  });

  it('a person gets the same as a page', async () => {
    const answer = await new BrowserClient().request(`${f.origin}/auth/login?provider=${PROVIDER_ID}`, { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } });
    expect(answer.status).toBe(502);
    expect(answer.text).toContain('<code>PAR_UNSUPPORTED</code>');
  });

  it('par: auto sends the parameters in the URL', async () => {
    const auto = await fixture({ opOptions: { pushedAuthorizationRequests: { enabled: false } } });
    const start = await startLogin(auto);
    expect(start.status).toBe(302);
    expect(new URL(start.location!).searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const login = await auto.login('/y');
    expect(login.finalUrl).toBe(`${auto.origin}/y`);
  });
});

describe('a push that fails', () => {
  const plan: { left: number; status: number | 'drop'; retryAfter?: string } = { left: 0, status: 503 };
  let f: OidcFixture;

  beforeAll(async () => {
    f = await fixture({ opOptions: { middleware: [failPushes(plan)] } });
  });

  it('a 503 at the provider is 503 TOKEN_SERVICE_UNAVAILABLE with the provider\'s Retry-After, and the next login works', async () => {
    Object.assign(plan, { left: 1, status: 503, retryAfter: '7' });
    const answer = await startLogin(f);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('7');
    expect(answer.json()).toEqual({ code: 'TOKEN_SERVICE_UNAVAILABLE', error: 'Login is unavailable: the identity provider is unavailable; try again later' });
    expectNoLoginStarted(answer);
    expect((await f.login('/z')).finalUrl).toBe(`${f.origin}/z`);
  });

  it('a dropped connection is 503 with a Retry-After', async () => {
    Object.assign(plan, { left: 1, status: 'drop', retryAfter: undefined });
    const answer = await startLogin(f);
    expect(answer.status).toBe(503);
    expect(answer.headers['retry-after']).toBe('5');
    expect(answer.json()).toMatchObject({ code: 'TOKEN_SERVICE_UNAVAILABLE', error: 'Login is unavailable: the identity provider cannot be reached; try again later' });
    expectNoLoginStarted(answer);
  });

  it('a 400 from the provider (a redirect URI it does not know) is 502 PROVIDER_REJECTED', async () => {
    const unknown = await fixture({ opClient: { redirectUris: ['http://127.0.0.1:1/elsewhere'] } });
    const answer = await startLogin(unknown);
    expect(answer.status).toBe(502);
    expect(answer.json()).toEqual({ code: 'PROVIDER_REJECTED', error: `The identity provider "${PROVIDER_ID}" refused the login request (invalid_request); check the client's registration there` });
    expectNoLoginStarted(answer);
  });

  it('a 401 (a wrong client secret) is 502 PROVIDER_REJECTED naming invalid_client, and the secret is in no log line', async () => {
    const wrong = await fixture({ provider: { clientSecret: 'not-the-registered-secret-0123456789' } });
    const answer = await startLogin(wrong);
    expect(answer.status).toBe(502);
    expect(answer.json()).toMatchObject({ code: 'PROVIDER_REJECTED', error: expect.stringContaining('(invalid_client)') });
    expectNoLoginStarted(answer);
    wrong.watch.addSecret('not-the-registered-secret-0123456789');
    expect(wrong.watch.leaks()).toEqual([]);
    expect(wrong.watch.logLines.some((line) => line.includes('login request failed at the provider') && line.includes('"httpStatus":401'))).toBe(true);
  });
});

describe('pushed authorization requests with private_key_jwt', () => {
  it('the push is authenticated by a signed assertion, and the login completes', async () => {
    const seen: SeenPush[] = [];
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const f = await fixture({
      provider: { tokenEndpointAuthMethod: 'private_key_jwt', privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), clientSecret: undefined },
      opClient: { tokenEndpointAuthMethod: 'private_key_jwt', jwks: { keys: [{ ...key.publicKey.export({ format: 'jwk' }), use: 'sig' }] }, requirePushedAuthorizationRequests: true },
      opOptions: { middleware: [recordPushes(seen)] },
    });
    const login = await f.login('/k');
    expect(login.finalUrl).toBe(`${f.origin}/k`);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.status).toBe(201);
    expect(seen[0]!.basicAuthorization).toBe(false);
    const assertion = decodeJwt(String(seen[0]!.params['client_assertion']));
    expect(assertion).toMatchObject({ iss: 'tokengate', sub: 'tokengate', aud: f.op.issuer });
  });
});
