import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USER, startOpenIdProvider, type OpenIdProviderHandle } from '../../demo/op.ts';
import { createGateway, type Gateway, type ListeningGateway } from '../../src/app.ts';
import { configSchema } from '../../src/config/schema.ts';
import { canonicalRedirect } from '../../src/http/canonical-origin.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { BrowserClient } from '../support/http.ts';
import { completeProviderForms, followMetaRefresh } from '../support/login.ts';
import { freePort } from '../support/ports.ts';

/**
 * Issue 12, item 3: one canonical origin. publicOrigin is http://localhost:<port>; the gateway
 * listens on 127.0.0.1:<port>, so a person can open either. Page navigations on any host but
 * localhost (and the trusted ones) go to the same path on publicOrigin; programs are served.
 */

const NAVIGATE = { accept: 'text/html,*/*;q=0.8', 'sec-fetch-mode': 'navigate' };
let op: OpenIdProviderHandle;
let gateway: Gateway;
let listening: ListeningGateway;
let port: number;

beforeAll(async () => {
  port = await freePort();
  const clientSecret = randomBytes(24).toString('base64url');
  op = await startOpenIdProvider({ clients: [{ clientId: 'tg', clientSecret, redirectUris: [`http://localhost:${port}/auth/callback/op`] }] });
  const config = configSchema.parse({
    publicOrigin: `http://localhost:${port}`,
    trustedHosts: ['tokengate.internal'],
    keys: { encryption: [{ kid: 'k1', key: randomBytes(32).toString('base64url') }], cookie: [randomBytes(32).toString('base64url')] },
    providers: [{ id: 'op', type: 'oidc', issuer: op.issuer, clientId: 'tg', clientSecret }],
    forwardAuth: { enabled: true, sharedSecret: randomBytes(24).toString('base64url') },
    // Never reached: every request to it here is answered by the gateway first.
    routes: [{ prefix: '/api', upstream: 'http://127.0.0.1:9' }],
  });
  gateway = createGateway(config, { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }) });
  await gateway.start();
  listening = await gateway.listen({ host: '127.0.0.1', port });
});

afterAll(async () => {
  await gateway?.close({ graceMs: 0 });
  await op?.close();
});

/** One raw request to 127.0.0.1:<port> with a request target and Host of our choosing. */
function raw(target: string, headers: Record<string, string>, method = 'GET'): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: target, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('canonicalRedirect (the pure decision)', () => {
  const options = { publicOrigin: 'https://app.example.com', trustedHosts: ['tg.internal'], exempt: ['/auth/verify'] };
  const nav = { accept: 'text/html', 'sec-fetch-mode': 'navigate' };
  it('redirects page navigations on other hosts, only to publicOrigin', () => {
    expect(canonicalRedirect(options, { method: 'GET', url: '/a?b=1', headers: { ...nav, host: '10.0.0.7:8080' } })).toBe('https://app.example.com/a?b=1');
    expect(canonicalRedirect(options, { method: 'GET', url: 'https://evil.example/a', headers: { ...nav, host: 'evil.example' } })).toBe('https://app.example.com/a');
  });
  it('serves the public host, trusted hosts, exempt paths, programs and other methods', () => {
    expect(canonicalRedirect(options, { method: 'GET', url: '/a', headers: { ...nav, host: 'APP.example.com:443' } })).toBeUndefined();
    expect(canonicalRedirect(options, { method: 'GET', url: '/a', headers: { ...nav, host: 'tg.internal:8080' } })).toBeUndefined();
    expect(canonicalRedirect(options, { method: 'GET', url: '/auth/verify', headers: { ...nav, host: 'x' } })).toBeUndefined();
    expect(canonicalRedirect(options, { method: 'GET', url: '/a', headers: { accept: '*/*', host: 'x' } })).toBeUndefined();
    expect(canonicalRedirect(options, { method: 'POST', url: '/a', headers: { ...nav, host: 'x' } })).toBeUndefined();
  });
});

describe('one canonical origin', () => {
  it('redirects a GET or HEAD page navigation on another host to the same path and query on publicOrigin', async () => {
    expect(await raw('/app/page?tab=2&q=a%20b', { ...NAVIGATE, host: `127.0.0.1:${port}` })).toEqual({ status: 308, location: `http://localhost:${port}/app/page?tab=2&q=a%20b` });
    expect(await raw('/', { ...NAVIGATE, host: `127.0.0.1:${port}` }, 'HEAD')).toEqual({ status: 308, location: `http://localhost:${port}/` });
  });

  it('does the same on a proxied route (served before Koa), where API calls go on to its checks', async () => {
    expect(await raw('/api/page?tab=2', { ...NAVIGATE, host: `127.0.0.1:${port}` })).toEqual({ status: 308, location: `http://localhost:${port}/api/page?tab=2` });
    // Not redirected: refused by the route's CSRF check (no header sent).
    expect((await raw('/api/data', { accept: 'application/json', host: `127.0.0.1:${port}` })).status).toBe(403);
  });

  it('never sends the browser to a host the client named', async () => {
    expect((await raw('/x', { ...NAVIGATE, host: 'evil.example' })).location).toBe(`http://localhost:${port}/x`);
    expect((await raw('http://evil.example/y?z=1', { ...NAVIGATE, host: 'evil.example' })).location).toBe(`http://localhost:${port}/y?z=1`);
    expect((await raw('//evil.example/w', { ...NAVIGATE, host: `127.0.0.1:${port}` })).location).toBe(`http://localhost:${port}/w`);
  });

  it('serves the public host with any port, X-Forwarded-Host of the public host, and trusted hosts', async () => {
    expect((await raw('/auth/nothing', { ...NAVIGATE, host: 'localhost' })).status).toBe(404);
    expect((await raw('/auth/nothing', { ...NAVIGATE, host: `LOCALHOST:${port}` })).status).toBe(404);
    expect((await raw('/auth/nothing', { ...NAVIGATE, host: 'tokengate-svc:8080', 'x-forwarded-host': `localhost:${port}` })).status).toBe(404);
    expect((await raw('/auth/nothing', { ...NAVIGATE, host: 'tokengate.internal:8080' })).status).toBe(404);
  });

  it('serves programs and non-GET requests on any host, and the forward-auth verify path', async () => {
    expect((await raw('/auth/session', { accept: '*/*', 'sec-fetch-mode': 'cors', host: `127.0.0.1:${port}` })).status).toBe(401);
    expect((await raw('/auth/session', { accept: 'application/json', host: `127.0.0.1:${port}` })).status).toBe(401);
    expect((await raw('/auth/logout', { ...NAVIGATE, host: `127.0.0.1:${port}` }, 'POST')).status).toBe(403);
    expect((await raw('/auth/verify', { ...NAVIGATE, host: `127.0.0.1:${port}` })).status).not.toBe(308);
  });

  it('a login started on 127.0.0.1 completes on publicOrigin, instead of "No login in progress in this browser"', async () => {
    const client = new BrowserClient();
    const first = await client.request(`http://127.0.0.1:${port}/auth/login?returnTo=/after`, { headers: NAVIGATE });
    expect(first.status).toBe(308);
    const home = `http://localhost:${port}`;
    const back = await completeProviderForms(client, await client.navigate(first.location!, { headers: NAVIGATE }), home, { username: DEMO_USER.username, password: DEMO_USER.password });
    expect(new URL(back.response.url).origin).toBe(home);
    expect(back.response.status).toBe(200);
    const { response } = await followMetaRefresh(client, back);
    expect(new URL(response.url).pathname).toBe('/after');
    const session = await client.request(`${home}/auth/session`);
    expect(session.status).toBe(200);
    expect(session.json()).toMatchObject({ authenticated: true });
  });
});
