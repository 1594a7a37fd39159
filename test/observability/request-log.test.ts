import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context } from 'koa';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { accessLog, bindRequestLog, type AccessLogState } from '../../src/observability/index.ts';
import { captureLogger, type CapturedLog } from './capture.ts';

/**
 * The request logger on ctx.state.log is made only when something reads it; bindings added
 * with bindRequestLog before or after that reach every line the same way.
 */
describe('the request logger', () => {
  let server: Server;
  let base = '';
  let log: CapturedLog;

  beforeAll(async () => {
    log = captureLogger();
    const app = new Koa();
    app.use(accessLog(log.logger));
    app.use(async (ctx: Context & { state: AccessLogState }) => {
      bindRequestLog(ctx.state, { session: 'tag-before' });
      if (ctx.path === '/logs') {
        ctx.state.log?.info({ step: 1 }, 'first');
        bindRequestLog(ctx.state, { attempt: 2 });
        ctx.state.log?.info({ step: 2 }, 'second');
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

  it('is never made for a request that logs only its access line', async () => {
    const child = vi.spyOn(log.logger, 'child');
    try {
      await (await fetch(`${base}/quiet`, { headers: { 'x-request-id': 'quiet-1' } })).text();
      await vi.waitFor(() => expect(log.lines().filter((line) => line.requestId === 'quiet-1')).toHaveLength(1));
      expect(child).not.toHaveBeenCalled();
      const [line] = log.lines().filter((entry) => entry.requestId === 'quiet-1');
      expect(line).toMatchObject({ msg: 'request', requestId: 'quiet-1', status: 200 });
    } finally {
      child.mockRestore();
    }
  });

  it("carries the request id and every binding, whether added before or after its first use", async () => {
    await (await fetch(`${base}/logs`, { headers: { 'x-request-id': 'loud-1' } })).text();
    await vi.waitFor(() => expect(log.lines().filter((line) => line.requestId === 'loud-1')).toHaveLength(3));
    const [first, second] = log.lines().filter((line) => line.requestId === 'loud-1' && line.msg !== 'request');
    expect(first).toMatchObject({ requestId: 'loud-1', session: 'tag-before', step: 1 });
    expect(first).not.toHaveProperty('attempt');
    expect(second).toMatchObject({ requestId: 'loud-1', session: 'tag-before', attempt: 2, step: 2 });
  });
});
