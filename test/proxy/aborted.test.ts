import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import type { LoginResult } from '../support/login.ts';
import { scrape, valueOf } from '../ops/support/prometheus.ts';
import { serveOps } from '../ops/support/ops-listener.ts';
import { startTestUpstream, type TestUpstream } from './upstream.ts';

/**
 * A client that goes away before its answer (security audit item 7) is status 499 in the access
 * line and in tokengate_http_requests_total, and leaves one line: the access line, no error
 * line, no stack trace.
 */

let stack: GatewayStack;
let upstream: TestUpstream;
let browser: LoginResult;
let ops: Awaited<ReturnType<typeof serveOps>>;

beforeAll(async () => {
  upstream = await startTestUpstream({ sessionCookie: 'tg_session' });
  stack = await startGatewayStack({ routes: () => [{ prefix: '/t', upstream: upstream.url }] });
  ops = await serveOps(stack.instances[0]!.gateway);
  browser = await stack.login();
});

afterAll(async () => {
  await ops?.close();
  await stack?.close();
  await upstream?.close();
});

/** Writes `head` (and `body`), then closes the connection once `until` holds (bounded). */
async function abandon(head: string[], body: string, until: () => boolean): Promise<void> {
  const url = new URL(stack.url);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write([...head, `host: ${url.host}`, '', ''].join('\r\n') + body);
  await vi.waitFor(() => expect(until()).toBe(true), { timeout: 5000, interval: 10 });
  socket.destroy();
}

function linesOf(requestId: string): Array<Record<string, unknown>> {
  return stack.logLines.filter((line) => line.includes(requestId)).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('a client that goes away', () => {
  it.each([
    ['in the middle of its request body', 'abort-body-1', 'POST', ['content-length: 1000', 'content-type: text/plain'], 'only part', '/t/echo'],
    ['while the upstream is still working', 'abort-wait-1', 'GET', [], '', '/t/hang'],
  ])('%s: one access line with status 499, counted as 499, no stack', async (_case, requestId, method, extra, body, path) => {
    const cookie = await browser.jar.getCookieString(stack.url);
    const before = await scrape(ops.url);
    const seen = upstream.seen.length;
    const head = [`${method} ${path} HTTP/1.1`, `cookie: ${cookie}`, 'x-csrf: 1', `x-request-id: ${requestId}`, ...extra];
    // Close once the gateway has parsed the head (body case) or the upstream got the request (wait case).
    const server = stack.instances[0]!.listening.server;
    let parsed = false;
    const onRequest = (req: { headers: Record<string, unknown> }) => {
      if (req.headers['x-request-id'] === requestId) parsed = true;
    };
    server.on('request', onRequest);
    await abandon(head, body, () => (path === '/t/hang' ? upstream.seen.length > seen : parsed));
    server.off('request', onRequest);
    await vi.waitFor(() => expect(linesOf(requestId).filter((line) => line.msg === 'request')).toHaveLength(1), { timeout: 5000, interval: 20 });
    // Give any late error line a moment to show up: there must be none.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const lines = linesOf(requestId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', status: 499, aborted: true, route: '/t' });
    expect(JSON.stringify(lines)).not.toContain('stack');
    const after = await scrape(ops.url);
    const labels = { route: '/t', method, status: '499' };
    expect(valueOf(after, 'tokengate_http_requests_total', labels) - valueOf(before, 'tokengate_http_requests_total', labels)).toBe(1);
  });
});
