import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfProtection } from '../../src/http/csrf.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { createLogger } from '../../src/observability/logger.ts';

/** The CSRF middleware on a real Koa server: the configured header, then the Origin allowlist. */

const lines: string[] = [];
let server: Server;
let url = '';

beforeAll(async () => {
  const app = new Koa();
  const log = createLogger({ level: 'info', destination: { write: (line: string) => void lines.push(line) } });
  app.use(errorHandler());
  app.use(async (ctx, next) => {
    ctx.state.log = log;
    await next();
  });
  app.use(csrfProtection({ header: 'X-Requested-By', value: 'tokengate', allowedOrigins: ['https://admin.example.com'], publicOrigin: 'https://app.example.com' }));
  app.use(async (ctx) => {
    ctx.body = { passed: true };
  });
  server = createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/thing`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function send(method: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method, headers });
  return { status: response.status, body: await response.json() };
}

describe('CSRF protection', () => {
  it.each(['GET', 'HEAD', 'OPTIONS'])('lets the safe method %s through without the header', async (method) => {
    const response = await fetch(url, { method });
    expect(response.status).toBe(200);
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('refuses %s without the header with 403 CSRF_REJECTED', async (method) => {
    expect(await send(method)).toEqual({ status: 403, body: { error: expect.any(String), code: 'CSRF_REJECTED' } });
  });

  it('refuses a wrong header value, even one sharing a prefix', async () => {
    expect((await send('POST', { 'x-requested-by': 'token' })).status).toBe(403);
    expect((await send('POST', { 'x-requested-by': 'tokengate2' })).status).toBe(403);
  });

  it('accepts the header without an Origin (same-origin requests need not send one)', async () => {
    expect(await send('POST', { 'x-requested-by': 'tokengate' })).toEqual({ status: 200, body: { passed: true } });
  });

  it('accepts the public origin and an allowed origin', async () => {
    expect((await send('POST', { 'x-requested-by': 'tokengate', origin: 'https://app.example.com' })).status).toBe(200);
    expect((await send('POST', { 'x-requested-by': 'tokengate', origin: 'https://admin.example.com' })).status).toBe(200);
  });

  it('refuses a foreign Origin, an opaque "null" Origin and a look-alike, even with the header', async () => {
    for (const origin of ['https://evil.example', 'null', 'https://app.example.com.evil.example', 'http://app.example.com']) {
      expect((await send('POST', { 'x-requested-by': 'tokengate', origin })).status).toBe(403);
    }
  });

  it('logs each refusal as a csrf_rejected security event', async () => {
    const before = lines.length;
    await send('DELETE');
    const events = lines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(events).toContainEqual(expect.objectContaining({ event: 'csrf_rejected', security: true, method: 'DELETE' }));
  });
});
