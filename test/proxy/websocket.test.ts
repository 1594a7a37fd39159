import { randomBytes } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { manualClock } from '../tokens/fixture.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { storedTokens } from './session-tokens.ts';
import { readTextFrame, startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * WebSocket handshakes through the gateway to a real upstream that completes the RFC 6455
 * handshake and sends back, in its first frame, the headers it received.
 */

const MINUTE = 60_000;
const clock = manualClock();
let stack: GatewayStack;
let upstream: TestUpstream;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    accessTokenTtl: 600,
    now: clock.now,
    routes: () => [
      { prefix: '/ws', upstream: upstream.url },
      { prefix: '/nows', upstream: upstream.url, websocket: false },
    ],
  });
});

afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  clock.set(Date.now());
  stack.op.resetStats();
  upstream.seen.length = 0;
});

interface Handshake {
  status: number;
  /** The response head's headers (the 101's, or the refusal's). */
  headers?: IncomingHttpHeaders;
  /** The upstream's first frame, parsed, when the upgrade went through. */
  echoed?: { url: string; headers: IncomingHttpHeaders };
  body?: string;
}

function handshake(url: string, headers: Record<string, string> = {}): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64'), ...headers },
    });
    req.on('upgrade', (res, socket, head) => {
      let data = head;
      const tryRead = () => {
        const text = readTextFrame(data);
        if (text === undefined) return;
        socket.destroy();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, echoed: JSON.parse(text) as Handshake['echoed'] });
      };
      socket.on('data', (chunk: Buffer) => {
        data = Buffer.concat([data, chunk]);
        tryRead();
      });
      tryRead();
    });
    req.on('response', (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('WebSocket upgrades on proxied routes', () => {
  it('an authenticated handshake reaches the upstream with the bearer and without the session cookie', async () => {
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(stack.url);
    const result = await handshake(`${stack.url}/ws/chat`, { cookie: `${cookie}; theme=dark`, authorization: 'Bearer forged', origin: stack.config.publicOrigin });
    expect(result.status).toBe(101);
    const tokens = await storedTokens(stack, browser);
    expect(result.echoed?.url).toBe('/ws/chat');
    expect(result.echoed?.headers.authorization).toBe(`Bearer ${tokens!.accessToken}`);
    expect(String(result.echoed?.headers.cookie)).not.toMatch(/tg_session/);
    expect(String(result.echoed?.headers.cookie)).toContain('theme=dark');
    expect(result.echoed?.headers.upgrade).toBe('websocket');
  });

  it('a handshake refreshes first when the token has expired', async () => {
    const browser = await stack.login();
    const login = await storedTokens(stack, browser);
    clock.advance(11 * MINUTE);
    const result = await handshake(`${stack.url}/ws/chat`, { cookie: await browser.jar.getCookieString(stack.url) });
    expect(result.status).toBe(101);
    expect(stack.op.stats.refreshGrants).toBe(1);
    const fresh = await storedTokens(stack, browser);
    expect(fresh?.accessToken).not.toBe(login?.accessToken);
    expect(result.echoed?.headers.authorization).toBe(`Bearer ${fresh!.accessToken}`);
  });

  it('an unauthenticated handshake gets HTTP/1.1 401 and its socket is closed; nothing reaches the upstream', async () => {
    const { port } = new URL(stack.url);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          ['GET /ws/chat HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, '', ''].join('\r\n'),
        );
      });
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(raw.startsWith('HTTP/1.1 401 ')).toBe(true);
    expect(raw).toContain('"code":"SESSION_EXPIRED"');
    expect(upstream.seen).toHaveLength(0);
  });

  it('a foreign Origin, an unknown path and a route without WebSockets are refused', async () => {
    const browser = await stack.login();
    const cookie = await browser.jar.getCookieString(stack.url);
    expect((await handshake(`${stack.url}/ws/chat`, { cookie, origin: 'https://evil.example' })).status).toBe(403);
    expect((await handshake(`${stack.url}/elsewhere`, { cookie })).status).toBe(404);
    expect((await handshake(`${stack.url}/nows/chat`, { cookie })).status).toBe(404);
    expect(upstream.seen).toHaveLength(0);
  });
});

describe('the upstream\'s handshake answer as the browser gets it', () => {
  it('a 101 never sets the gateway\'s session cookie; the upstream\'s own cookies and the upgrade headers stay', async () => {
    const browser = await stack.login();
    const result = await handshake(`${stack.url}/ws/ws-set-cookie`, { cookie: await browser.jar.getCookieString(stack.url) });
    expect(result.status).toBe(101);
    const cookies = (result.headers?.['set-cookie'] ?? []).join('\n');
    expect(cookies).not.toMatch(/tg_session/);
    expect(cookies).toContain('upstream_pref=1');
    expect(result.headers?.upgrade).toBe('websocket');
    expect(result.echoed?.url).toBe('/ws/ws-set-cookie');
  });

  it('a refused handshake gets the header policy of HTTP responses: no gateway cookie, private caching', async () => {
    const browser = await stack.login();
    const result = await handshake(`${stack.url}/ws/ws-refuse`, { cookie: await browser.jar.getCookieString(stack.url) });
    expect(result.status).toBe(403);
    const cookies = (result.headers?.['set-cookie'] ?? []).join('\n');
    expect(cookies).not.toMatch(/tg_session/);
    expect(cookies).toContain('upstream_pref=1');
    expect(result.headers?.['cache-control']).toBe('private, max-age=600');
    expect(result.headers?.vary).toBe('Cookie');
  });
});
