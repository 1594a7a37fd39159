import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSampleApi, type SampleApiEcho, type SampleApiHandle } from '../../demo/api.ts';
import { startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { loginThroughGateway } from '../support/login.ts';
import { startRelyingParty, type TestRelyingParty } from './relying-party.ts';

let rp: TestRelyingParty;
let op: OpenIdProviderHandle;
let api: SampleApiHandle;

async function issueTokens(): Promise<{ access: string; refresh: string }> {
  await loginThroughGateway(`${rp.url}/login`, { username: 'demo', password: 'demo' });
  const answer = await rp.exchangeCode(rp.callbacks.at(-1)?.code ?? '');
  if (answer.status !== 200) throw new Error(`code exchange answered ${answer.status}`);
  return { access: String(answer.body['access_token']), refresh: String(answer.body['refresh_token']) };
}

beforeAll(async () => {
  rp = await startRelyingParty();
  op = await startOpenIdProvider({ clients: [rp.client] });
  rp.useIssuer(op.issuer);
  api = await startSampleApi({ introspect: (token) => op.introspect(token) });
});

afterAll(async () => {
  await api?.close();
  await op?.close();
  await rp?.close();
});

beforeEach(() => {
  api.requests.length = 0;
});

describe('bearer validation by introspection', () => {
  it('answers 401 with a Bearer challenge when there is no token', async () => {
    const response = await fetch(`${api.url}/things`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="sample-api"');
    expect(api.requests).toEqual([expect.objectContaining({ path: '/things', status: 401, sub: undefined, hadAuthorization: false })]);
  });

  it('answers 401 invalid_token for a token the provider does not know', async () => {
    const response = await fetch(`${api.url}/things`, { headers: { authorization: 'Bearer not-a-real-token' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(api.requests[0]?.hadAuthorization).toBe(true);
  });

  it('refuses a refresh token presented as a bearer token', async () => {
    const { refresh } = await issueTokens();
    expect((await op.introspect(refresh)).active).toBe(true);
    const response = await fetch(`${api.url}/things`, { headers: { authorization: `Bearer ${refresh}` } });
    expect(response.status).toBe(401);
  });

  it('refuses an access token once the provider revoked it', async () => {
    const { access } = await issueTokens();
    expect((await fetch(api.url, { headers: { authorization: `Bearer ${access}` } })).status).toBe(200);
    await op.revokeAccessToken(access);
    const response = await fetch(api.url, { headers: { authorization: `Bearer ${access}` } });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('answers 503 while the provider is down, and 200 once it is back', async () => {
    const { access } = await issueTokens();
    await op.stop();
    try {
      const down = await fetch(api.url, { headers: { authorization: `Bearer ${access}` } });
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
    } finally {
      await op.start();
    }
    expect((await fetch(api.url, { headers: { authorization: `Bearer ${access}` } })).status).toBe(200);
  });
});

describe('what an accepted request sees', () => {
  it('describes the request without ever echoing the token or a cookie value', async () => {
    const { access } = await issueTokens();
    const body = JSON.stringify({ hello: 'world' });
    const response = await fetch(`${api.url}/orders/7?tag=a&tag=b&page=2`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${access}`,
        cookie: '__Host-tg=session-cookie-value; theme=dark-value',
        'content-type': 'application/json',
        'x-csrf-token': '1',
        'x-request-id': 'abc',
      },
      body,
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).not.toContain(access);
    expect(text).not.toContain('session-cookie-value');
    expect(text).not.toContain('dark-value');
    const echo = JSON.parse(text) as SampleApiEcho;
    expect(echo).toMatchObject({
      sub: 'demo-user',
      method: 'POST',
      path: '/orders/7',
      query: { tag: ['a', 'b'], page: '2' },
      bodySha256: createHash('sha256').update(body).digest('hex'),
      bodyBytes: Buffer.byteLength(body),
    });
    expect(echo.headers).toMatchObject({ authorization: '[redacted]', cookie: '[redacted]', 'x-request-id': 'abc', 'content-type': 'application/json' });
    expect(api.requests).toEqual([
      expect.objectContaining({
        sub: 'demo-user',
        method: 'POST',
        path: '/orders/7',
        status: 200,
        hadAuthorization: true,
        hadCookie: true,
        hadCsrf: true,
        cookieNames: ['__Host-tg', 'theme'],
      }),
    ]);
    expect(JSON.stringify(api.requests)).not.toContain(access);
  });

  it('streams three server-sent events, then ends the stream', async () => {
    const { access } = await issueTokens();
    const response = await fetch(`${api.url}/events`, { headers: { authorization: `Bearer ${access}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = (await response.text()).split('\n\n').filter((event) => event !== '');
    expect(events).toHaveLength(3);
    expect(events.map((event) => /^id: (\d+)$/m.exec(event)?.[1])).toEqual(['1', '2', '3']);
    expect(events[2]).toContain('"sub":"demo-user"');
  });

  it('answers /slow after the requested delay', async () => {
    const { access } = await issueTokens();
    const started = performance.now();
    const response = await fetch(`${api.url}/slow?ms=200`, { headers: { authorization: `Bearer ${access}` } });
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(195);
    expect(((await response.json()) as SampleApiEcho).path).toBe('/slow');
  });
});
