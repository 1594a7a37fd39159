import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { storedTokens } from './session-tokens.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Replay once on an upstream 401. The access token is revoked at the real provider behind the
 * gateway's back; the sample API (which introspects every bearer) then answers 401.
 */

let stack: GatewayStack;
let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    routes: ({ api }) => [
      { prefix: '/api', upstream: api },
      { prefix: '/small', upstream: api, stripPrefix: true, replayBodyLimit: 64 },
      { prefix: '/t', upstream: upstream.url, stripPrefix: true },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  stack.op.resetStats();
  stack.api.requests.length = 0;
  upstream.seen.length = 0;
});

const csrf = (stack: GatewayStack) => ({ 'x-csrf': '1', origin: stack.config.publicOrigin });

async function revokeCurrentAccessToken(browser: LoginResult): Promise<string> {
  const tokens = await storedTokens(stack, browser);
  expect(await stack.op.revokeAccessToken(tokens!.accessToken)).toBe(true);
  return tokens!.accessToken;
}

describe('replay once on an upstream 401', () => {
  it('a POST with a JSON body is refreshed once and replayed; the upstream sees the same body on the replay', async () => {
    const browser = await stack.login();
    const revoked = await revokeCurrentAccessToken(browser);
    const body = { order: 42, items: ['a', 'b'], note: 'é'.repeat(100) };
    const res = await browser.request(`${stack.url}/api/orders`, { method: 'POST', json: body, headers: csrf(stack) });
    expect(res.status).toBe(200);
    expect(stack.op.stats.refreshGrants).toBe(1);
    const expectedHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    expect(stack.api.requests.map((r) => [r.method, r.path, r.status, r.bodySha256])).toEqual([
      ['POST', '/api/orders', 401, expectedHash],
      ['POST', '/api/orders', 200, expectedHash],
    ]);
    expect(res.json<{ bodySha256: string }>().bodySha256).toBe(expectedHash);
    expect((await storedTokens(stack, browser))?.accessToken).not.toBe(revoked);
  });

  it('a chunked body within the limit is buffered, replayed and sent with its length', async () => {
    const browser = await stack.login();
    await revokeCurrentAccessToken(browser);
    const cookie = await browser.jar.getCookieString(stack.url);
    const parts = ['{"a":', '1,"b":', '"two"}'];
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${stack.url}/t/echo`, { method: 'PUT', headers: { cookie, ...csrf(stack), 'content-type': 'application/json' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      for (const part of parts) req.write(part);
      req.end();
    });
    // The test upstream does not check tokens: no 401, so one request, de-chunked.
    expect(status).toBe(200);
    expect(upstream.seen).toHaveLength(1);
    expect(upstream.seen[0]!.headers['content-length']).toBe(String(parts.join('').length));
    expect(upstream.seen[0]!.headers['transfer-encoding']).toBeUndefined();
    expect(upstream.seen[0]!.bodySha256).toBe(createHash('sha256').update(parts.join('')).digest('hex'));
  });

  it('a second 401 goes to the client as 401 REAUTHENTICATION_REQUIRED, after exactly one replay', async () => {
    const browser = await stack.login();
    const res = await browser.request(`${stack.url}/t/always-401`, { method: 'POST', json: { x: 1 }, headers: csrf(stack) });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED' });
    expect(upstream.seen).toHaveLength(2);
    expect(upstream.seen[0]!.bodySha256).toBe(upstream.seen[1]!.bodySha256);
    expect(upstream.seen[0]!.headers.authorization).not.toBe(upstream.seen[1]!.headers.authorization);
    expect(stack.op.stats.refreshGrants).toBe(1);
  });

  it('a body over the limit is streamed and never replayed: the upstream 401 passes through', async () => {
    const browser = await stack.login();
    await revokeCurrentAccessToken(browser);
    const res = await browser.request(`${stack.url}/small/big`, { method: 'POST', body: 'x'.repeat(1000), headers: { ...csrf(stack), 'content-type': 'text/plain' } });
    expect(res.status).toBe(401);
    expect(res.json()).toMatchObject({ error: 'invalid_token' });
    expect(stack.api.requests).toHaveLength(1);
    expect(stack.api.requests[0]!.bodyBytes).toBe(1000);
    expect(stack.op.stats.refreshGrants).toBe(0);
  });

  it('a chunked body that grows past the limit is streamed whole (what was read first included), never replayed', async () => {
    const browser = await stack.login();
    await revokeCurrentAccessToken(browser);
    const cookie = await browser.jar.getCookieString(stack.url);
    const parts = Array.from({ length: 20 }, (_, i) => `chunk-${i}-${'y'.repeat(10)};`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${stack.url}/small/chunked`, { method: 'POST', headers: { cookie, ...csrf(stack), 'content-type': 'text/plain' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      let i = 0;
      const next = () => {
        if (i === parts.length) return req.end();
        req.write(parts[i++], () => setImmediate(next));
      };
      next();
    });
    expect(status).toBe(401);
    expect(stack.api.requests).toHaveLength(1);
    expect(stack.api.requests[0]!.bodySha256).toBe(createHash('sha256').update(parts.join('')).digest('hex'));
    expect(stack.op.stats.refreshGrants).toBe(0);
  });

  it('a GET is replayed too, and a request whose token is accepted is never replayed', async () => {
    const browser = await stack.login();
    expect((await browser.request(`${stack.url}/api/one`)).status).toBe(200);
    await revokeCurrentAccessToken(browser);
    expect((await browser.request(`${stack.url}/api/two`)).status).toBe(200);
    expect(stack.api.requests.map((r) => [r.path, r.status])).toEqual([
      ['/api/one', 200],
      ['/api/two', 401],
      ['/api/two', 200],
    ]);
    expect(stack.op.stats.refreshGrants).toBe(1);
  });

  it('concurrent 401s after a revocation cause one refresh; the store’s newer token is used by the rest', async () => {
    const browser = await stack.login();
    await revokeCurrentAccessToken(browser);
    const responses = await Promise.all(Array.from({ length: 8 }, (_, i) => browser.request(`${stack.url}/api/c${i}`)));
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(stack.op.stats.refreshGrants).toBe(1);
    expect(stack.op.stats.refreshReuse).toBe(0);
  });
});
