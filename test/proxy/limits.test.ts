import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { rawRequest } from './raw-request.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * Bounded bodies and WebSockets (security audit item 6), on a running gateway with short limits:
 * a stalled body answers 408 and frees its buffer; the replay budget is shared by all requests
 * and, once spent, bodies are streamed without replay; a session has at most N WebSockets open.
 */

const IDLE_MS = 300;
const BUDGET = 64 * 1024;
let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;
let cookie: string;
const opened: Socket[] = [];

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({
    proxy: { bodyIdleTimeout: `${IDLE_MS / 1000}s`, replayBudget: BUDGET, maxWebSocketsPerSession: 2 },
    routes: () => [{ prefix: '/t', upstream: upstream.url }],
  });
  browser = await stack.login();
  cookie = await browser.jar.getCookieString(stack.url);
});

afterAll(async () => {
  for (const socket of opened) socket.destroy();
  await stack?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.seen.length = 0;
});

interface Stalled {
  socket: Socket;
  /** Everything the gateway wrote, once it closed the connection (or the bound passed). */
  answer: Promise<{ text: string; closed: boolean; afterMs: number }>;
}

/** Sends the head and `sent` bytes of a `declared`-byte body, then nothing more. */
function stalledUpload(path: string, declared: number, sent: number): Promise<Stalled> {
  const url = new URL(stack.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      opened.push(socket);
      const head = [`POST ${path} HTTP/1.1`, `host: ${url.host}`, `cookie: ${cookie}`, 'x-csrf: 1', 'content-type: application/octet-stream', `content-length: ${declared}`, '', ''].join('\r\n');
      socket.write(head);
      socket.write(Buffer.alloc(sent, 7));
      const started = performance.now();
      const answer = new Promise<{ text: string; closed: boolean; afterMs: number }>((done) => {
        let text = '';
        const bound = setTimeout(() => done({ text, closed: false, afterMs: performance.now() - started }), 10_000);
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => {
          clearTimeout(bound);
          done({ text, closed: true, afterMs: performance.now() - started });
        });
      });
      resolve({ socket, answer });
    });
    socket.on('error', reject);
  });
}

describe('a stalled request body', () => {
  it('answers 408 REQUEST_TIMEOUT after the idle timeout, closes the connection, and forwards nothing', async () => {
    const clients = await Promise.all([0, 1, 2].map(() => stalledUpload('/t/echo', 100_000, 1000)));
    const answers = await Promise.all(clients.map((client) => client.answer));
    for (const answer of answers) {
      expect(answer.text).toMatch(/^HTTP\/1\.1 408 /);
      expect(answer.text).toContain('"code":"REQUEST_TIMEOUT"');
      expect(answer.closed).toBe(true);
      expect(answer.afterMs).toBeGreaterThanOrEqual(IDLE_MS - 50);
      expect(answer.afterMs).toBeLessThan(8000);
    }
    expect(upstream.seen).toEqual([]);
  });
});

describe('the replay budget', () => {
  const body = Buffer.alloc(16 * 1024, 1);
  const sha = createHash('sha256').update(body).digest('hex');
  const post = () => browser.request(`${stack.url}/t/always-401`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' } });

  it('while stalled uploads hold it, a body is streamed whole without replay; once they time out, replay works again', async () => {
    // Two stalled uploads hold 2 x 30 KiB of the 64 KiB budget.
    const holders = await Promise.all([0, 1].map(() => stalledUpload('/t/echo', 200_000, 30 * 1024)));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const streamed = await post();
    // Not replayable: the upstream's own 401 comes back as is, after one attempt with the whole body.
    expect(streamed.status).toBe(401);
    expect(streamed.json()).toEqual({ error: 'invalid_token' });
    expect(upstream.seen.map((seen) => [seen.url, seen.bodySha256])).toEqual([['/t/always-401', sha]]);

    for (const holder of holders) expect((await holder.answer).text).toMatch(/^HTTP\/1\.1 408 /);
    upstream.seen.length = 0;
    const replayed = await post();
    // Buffered: replayed once with a fresh token, then the gateway's own 401.
    expect(replayed.status).toBe(401);
    expect(replayed.json()).toMatchObject({ code: 'REAUTHENTICATION_REQUIRED' });
    expect(upstream.seen.map((seen) => seen.bodySha256)).toEqual([sha, sha]);
  });
});

describe('WebSockets per session', () => {
  function openWebSocket(): Promise<{ status: number; socket: Socket; head: string }> {
    const url = new URL(stack.url);
    return new Promise((resolve, reject) => {
      const socket = connect(Number(url.port), url.hostname, () => {
        opened.push(socket);
        const key = Buffer.from(String(Math.random())).toString('base64');
        socket.write([`GET /t/ws HTTP/1.1`, `host: ${url.host}`, `cookie: ${cookie}`, 'connection: Upgrade', 'upgrade: websocket', 'sec-websocket-version: 13', `sec-websocket-key: ${key}`, '', ''].join('\r\n'));
      });
      let text = '';
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const end = text.indexOf('\r\n\r\n');
        if (end !== -1) resolve({ status: Number(text.slice(9, 12)), socket, head: text });
      });
      socket.on('error', reject);
    });
  }

  it('the cap answers the next handshake 429 TOO_MANY_WEBSOCKETS; closing one frees its slot', async () => {
    const first = await openWebSocket();
    const second = await openWebSocket();
    expect([first.status, second.status]).toEqual([101, 101]);
    const third = await rawRequest(stack.url, '/t/ws', { cookie }, { upgrade: true });
    expect(third.status).toBe(429);
    expect(third.body).toContain('"code":"TOO_MANY_WEBSOCKETS"');
    expect(upstream.seen).toHaveLength(2);

    first.socket.destroy();
    // The slot comes back when the gateway sees the close: poll, bounded.
    let again = 0;
    for (let i = 0; i < 50 && again !== 101; i += 1) {
      again = (await rawRequest(stack.url, '/t/ws', { cookie }, { upgrade: true })).status;
      if (again !== 101) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(again).toBe(101);
    second.socket.destroy();
  });
});
