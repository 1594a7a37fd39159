import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createProxyServer } from 'http-proxy-3';
import Koa, { type Context } from 'koa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CsrfRejectedError } from '../../src/errors.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { accessLog, createMetrics, type AccessLogState } from '../../src/observability/index.ts';
import { captureLogger, type CapturedLog } from './capture.ts';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const settle = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('accessLog', () => {
  let upstream: Server;
  let upstreamOrigin: string;
  let gateway: Server;
  let base: string;
  let log: CapturedLog;
  const metrics = createMetrics({ defaultMetrics: false });
  const proxy = createProxyServer({ changeOrigin: true });
  proxy.on('error', (_err, _req, res) => {
    if ('writeHead' in res && !res.headersSent) res.writeHead(502).end();
  });
  let clientGone: Promise<void> = Promise.resolve();

  /** The lines the access log wrote (not the handlers' own lines). */
  const accessLines = () => log.lines().filter((line) => line.msg === 'request');

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      setTimeout(() => {
        res.writeHead(418, { 'content-type': 'text/plain', 'x-upstream-saw-request-id': String(req.headers['x-request-id'] ?? '') });
        res.end('short and stout');
      }, 40);
    });
    upstreamOrigin = await listen(upstream);

    log = captureLogger();
    const app = new Koa();
    app.silent = true;
    app.use(errorHandler());
    app.use(accessLog({ logger: log.logger, metrics }));
    app.use(async (ctx: Context & { state: AccessLogState }) => {
      switch (ctx.path) {
        case '/api/items':
          ctx.state.routeName = '/api';
          ctx.state.sessionTag = 'a1b2c3d4e5f6';
          ctx.state.refreshOutcome = 'success';
          ctx.state.log?.info({ step: 'handler' }, 'handling');
          ctx.body = { items: [] };
          return;
        case '/csrf':
          ctx.state.routeName = 'auth.logout';
          throw new CsrfRejectedError();
        case '/bug':
          throw new Error('unexpected');
        case '/proxied':
          ctx.state.routeName = '/proxied';
          ctx.state.upstream = `${upstreamOrigin}/base/path?ignored=1`;
          ctx.respond = false;
          proxy.web(ctx.req, ctx.res, { target: upstreamOrigin });
          return;
        case '/slow':
          clientGone = new Promise((resolve) => ctx.req.once('close', () => resolve()));
          await clientGone;
          ctx.body = 'too late';
          return;
        default:
          ctx.status = 404;
      }
    });
    gateway = createServer(app.callback());
    base = await listen(gateway);
  });

  afterAll(async () => {
    proxy.close();
    await close(gateway);
    await close(upstream);
  });

  it('logs one line with the request id, method, route, status, duration, session and refresh outcome', async () => {
    const before = log.lines().length;
    const res = await fetch(`${base}/api/items?access_token=query-secret`, { headers: { 'x-request-id': 'edge-42:abc.DEF_1', authorization: 'Bearer header-secret' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe('edge-42:abc.DEF_1');
    await vi.waitFor(() => expect(log.lines().length).toBe(before + 2));
    await settle(50);
    const [handlerLine, accessLine] = log.lines().slice(before);
    expect(handlerLine).toMatchObject({ requestId: 'edge-42:abc.DEF_1', step: 'handler' });
    expect(accessLine).toMatchObject({
      level: 'info',
      msg: 'request',
      requestId: 'edge-42:abc.DEF_1',
      method: 'GET',
      route: '/api',
      status: 200,
      session: 'a1b2c3d4e5f6',
      refreshOutcome: 'success',
    });
    expect(typeof accessLine?.durationMs).toBe('number');
    expect(log.lines()).toHaveLength(before + 2);
    expect(log.raw).not.toContain('query-secret');
    expect(log.raw).not.toContain('header-secret');
    expect(log.raw).not.toContain('/api/items');
  });

  it('replaces a missing or unsafe X-Request-Id with a fresh UUID', async () => {
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    for (const header of [undefined, 'has space', 'x'.repeat(129), '<script>', 'a/b']) {
      const res = await fetch(`${base}/nowhere`, { headers: header === undefined ? {} : { 'x-request-id': header } });
      expect(res.headers.get('x-request-id')).toMatch(uuid);
    }
    const ok = await fetch(`${base}/nowhere`, { headers: { 'x-request-id': 'y'.repeat(128) } });
    expect(ok.headers.get('x-request-id')).toBe('y'.repeat(128));
  });

  it('defaults the route to unmatched', async () => {
    const res = await fetch(`${base}/nowhere`, { headers: { 'x-request-id': 'unmatched-1' } });
    expect(res.status).toBe(404);
    await vi.waitFor(() => expect(accessLines().filter((line) => line.requestId === 'unmatched-1')).toEqual([expect.objectContaining({ route: 'unmatched', status: 404 })]));
  });

  it('logs the status the error handler answered, once; a 5xx at warn', async () => {
    const csrf = await fetch(`${base}/csrf`, { method: 'POST', headers: { 'x-request-id': 'err-403' } });
    expect(csrf.status).toBe(403);
    const bug = await fetch(`${base}/bug`, { headers: { 'x-request-id': 'err-500' } });
    expect(bug.status).toBe(500);
    expect(((await bug.json()) as { requestId: string }).requestId).toBe('err-500');
    await vi.waitFor(() => expect(accessLines().filter((line) => line.requestId === 'err-500')).toHaveLength(1));
    await settle(50);
    expect(accessLines().filter((line) => line.requestId === 'err-403')).toEqual([expect.objectContaining({ level: 'info', route: 'auth.logout', status: 403 })]);
    expect(accessLines().filter((line) => line.requestId === 'err-500')).toEqual([expect.objectContaining({ level: 'warn', route: 'unmatched', status: 500 })]);
  });

  it('logs a proxied (respond=false) response with the upstream status and origin, exactly once', async () => {
    const res = await fetch(`${base}/proxied`, { headers: { 'x-request-id': 'proxied-1' } });
    expect(res.status).toBe(418);
    expect(await res.text()).toBe('short and stout');
    expect(res.headers.get('x-request-id')).toBe('proxied-1');
    await vi.waitFor(() => expect(accessLines().filter((line) => line.requestId === 'proxied-1')).toHaveLength(1));
    await settle(100);
    const lines = accessLines().filter((line) => line.requestId === 'proxied-1');
    expect(lines).toEqual([expect.objectContaining({ route: '/proxied', status: 418, upstream: upstreamOrigin })]);
    expect(lines[0]?.durationMs).toBeGreaterThanOrEqual(30);
    expect(lines[0]).not.toHaveProperty('aborted');
  });

  it('logs a request whose client went away, once, marked aborted', async () => {
    await new Promise<void>((resolve) => {
      const req = request(`${base}/slow`, { headers: { 'x-request-id': 'gone-1' }, agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 50);
    });
    await clientGone;
    await vi.waitFor(() => expect(accessLines().filter((line) => line.requestId === 'gone-1')).toHaveLength(1));
    await settle(50);
    expect(accessLines().filter((line) => line.requestId === 'gone-1')).toEqual([expect.objectContaining({ aborted: true })]);
  });

  it('counts tokengate_http_requests_total by route label, method and status', async () => {
    const series = 'tokengate_http_requests_total{route="/proxied",method="GET",status="418"}';
    const count = async () => {
      const line = (await metrics.render()).body.split('\n').find((candidate) => candidate.startsWith(`${series} `));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const before = await count();
    await (await fetch(`${base}/proxied`)).text();
    await vi.waitFor(async () => expect(await count()).toBe(before + 1));
  });
});

describe('accessLog(logger) shorthand', () => {
  it('works without metrics', async () => {
    const log = captureLogger();
    const app = new Koa();
    app.use(accessLog(log.logger));
    app.use((ctx) => {
      ctx.body = 'ok';
    });
    const server = createServer(app.callback());
    const base = await listen(server);
    try {
      const res = await fetch(base, { headers: { 'x-request-id': 'short-1' } });
      expect(await res.text()).toBe('ok');
      await vi.waitFor(() => expect(log.lines()).toEqual([expect.objectContaining({ requestId: 'short-1', status: 200, route: 'unmatched' })]));
    } finally {
      await close(server);
    }
  });
});
