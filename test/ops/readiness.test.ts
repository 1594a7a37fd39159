import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway } from '../../src/app.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';
import { startGatewayStack, type GatewayStack } from '../support/gateway.ts';
import { skipRedisSuite } from '../support/redis-server.ts';
import { freshGet, readyzBecomes } from './support/cli-stack.ts';
import { serveOps } from './support/ops-listener.ts';
import { delta, scrape } from './support/prometheus.ts';

/**
 * Issue "Operations", test 3: /readyz follows the store (the test's own redis-server, stopped
 * and started again) and each discovery-based provider, and turns not-ready for good once the
 * gateway drains. /healthz stays 200 throughout: the process is alive.
 */

const skip = skipRedisSuite('readiness on Redis', 'redis-server');

describe.skipIf(skip)('readiness', () => {
  let stack: GatewayStack;
  let ops: Awaited<ReturnType<typeof serveOps>>;

  beforeAll(async () => {
    stack = await startGatewayStack({ store: 'redis', redisCommandTimeout: '500ms' });
    ops = await serveOps(stack.instances[0]!.gateway);
  });

  afterAll(async () => {
    await ops?.close();
    await stack?.close();
  });

  it('goes 503 when the redis-server stops, and 200 again when it is back', async () => {
    expect(await readyzBecomes(ops.url, 200)).toEqual({ status: 'ready' });
    const browser = await stack.login();
    const before = await scrape(ops.url);

    await stack.redis!.kill();
    expect(await readyzBecomes(ops.url, 503)).toMatchObject({ status: 'not_ready', failing: ['store'], checks: { store: { ok: false, error: expect.any(String) }, 'provider:op': { ok: true } } });
    expect((await freshGet(`${ops.url}/healthz`)).status).toBe(200);
    // A browser request meanwhile is 503 STORE_UNAVAILABLE (never "logged out"), counted as a store error.
    const during = await browser.request(`${stack.url}/auth/session`);
    expect(during.status).toBe(503);
    expect(during.json()).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    const scraped = await scrape(ops.url);
    expect(delta(before, scraped, 'tokengate_store_errors_total', { op: 'loadSession' })).toBe(1);
    expect(delta(before, scraped, 'tokengate_store_errors_total', { op: 'ping' })).toBeGreaterThanOrEqual(1);

    await stack.redis!.restart();
    expect(await readyzBecomes(ops.url, 200, 10_000)).toEqual({ status: 'ready' });
    // Answered again (this redis-server keeps no data across a restart, so the session is gone).
    expect((await browser.request(`${stack.url}/auth/session`)).status).toBe(401);
  });

  it('is 503 until a discovery-based provider has loaded its metadata, then 200', async () => {
    await stack.op.stop();
    const gateway = createGateway(stack.config, { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }) });
    try {
      await gateway.start();
      expect(gateway.providers.get('op')!.ready).toBe(false);
      const report = await gateway.readiness();
      expect(report).toMatchObject({ ready: false, failing: ['provider:op'], checks: { store: { ok: true } } });
      // The cause, not just the name: where discovery went and what happened there.
      expect(report.checks!['provider:op']!.error).toContain(`discovery at ${stack.op.issuer}/.well-known/openid-configuration failed: cannot connect (ECONNREFUSED)`);
      await stack.op.start();
      // The probe itself retries discovery.
      expect(await gateway.readiness()).toMatchObject({ ready: true, failing: [], checks: { 'provider:op': { ok: true } } });
      expect(gateway.providers.get('op')!.ready).toBe(true);
    } finally {
      await gateway.close();
    }
    expect(await gateway.readiness()).toEqual({ ready: false, failing: ['draining'] });
  });

  it('turns 503 "draining" once the gateway closes, while /healthz stays 200', async () => {
    const gateway = createGateway(stack.config, { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }) });
    const own = await serveOps(gateway);
    try {
      await gateway.start();
      expect(await readyzBecomes(own.url, 200)).toEqual({ status: 'ready' });
      await gateway.close();
      expect(await readyzBecomes(own.url, 503)).toEqual({ status: 'not_ready', failing: ['draining'] });
      expect((await freshGet(`${own.url}/healthz`)).status).toBe(200);
    } finally {
      await own.close();
    }
  });
});
