import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context } from 'koa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accessLog, bindRequestLog, type AccessLogState } from '../../src/observability/index.ts';
import { captureLogger, type CapturedLog } from './capture.ts';

/**
 * ctx.state.log carries the request id and whatever bindRequestLog added, and is always a
 * child of the root logger (never a child of a per-request child).
 */
describe('the request logger', () => {
  let server: Server;
  let base = '';
  let log: CapturedLog;
  const parents: unknown[] = [];

  beforeAll(async () => {
    log = captureLogger();
    const app = new Koa();
    app.use(accessLog(log.logger));
    app.use(async (ctx: Context & { state: AccessLogState }) => {
      ctx.state.log?.info({ step: 1 }, 'first');
      bindRequestLog(ctx.state, { session: 'tag-1' });
      parents.push(Object.getPrototypeOf(ctx.state.log));
      ctx.state.log?.info({ step: 2 }, 'second');
      if (ctx.path === '/replaced') {
        // Someone made their own child in between: its bindings are kept.
        ctx.state.log = ctx.state.log!.child({ own: 'binding' });
        bindRequestLog(ctx.state, { attempt: 2 });
        ctx.state.log?.info({ step: 3 }, 'third');
      }
      ctx.body = 'ok';
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const linesOf = (requestId: string) => log.lines().filter((line) => line.requestId === requestId);

  it('carries the request id, and bindings added later, on lines logged after', async () => {
    await (await fetch(`${base}/plain`, { headers: { 'x-request-id': 'plain-1' } })).text();
    await vi.waitFor(() => expect(linesOf('plain-1')).toHaveLength(3));
    const [first, second, access] = linesOf('plain-1');
    expect(first).toMatchObject({ msg: 'first', step: 1 });
    expect(first).not.toHaveProperty('session');
    expect(second).toMatchObject({ msg: 'second', step: 2, session: 'tag-1' });
    expect(access).toMatchObject({ msg: 'request', status: 200 });
  });

  it('is a child of the root logger, not of the first request logger', () => {
    expect(parents[0]).toBe(log.logger);
  });

  it('keeps the bindings of a child someone else put on ctx.state.log', async () => {
    await (await fetch(`${base}/replaced`, { headers: { 'x-request-id': 'replaced-1' } })).text();
    await vi.waitFor(() => expect(linesOf('replaced-1')).toHaveLength(4));
    const third = linesOf('replaced-1').find((line) => line.msg === 'third');
    expect(third).toMatchObject({ session: 'tag-1', own: 'binding', attempt: 2, step: 3 });
  });
});
