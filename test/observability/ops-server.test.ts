import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/observability/metrics.ts';
import { createOpsApp } from '../../src/observability/ops-server.ts';
import { createReadiness } from '../../src/observability/readiness.ts';

describe('the ops listener', () => {
  const metrics = createMetrics({ defaultMetrics: false });
  let storeUp = true;
  const readiness = createReadiness({
    timeoutMs: 200,
    checks: [
      {
        name: 'store',
        check: async () => {
          if (!storeUp) throw new Error('store down');
        },
      },
    ],
  });
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer(createOpsApp({ metrics, readiness }).callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('GET /metrics answers the Prometheus text format with current values', async () => {
    metrics.countRefresh('invalid_grant');
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(await res.text()).toContain('tokengate_refresh_total{outcome="invalid_grant"} 1');
  });

  it('GET /healthz answers 200 { status: ok }', async () => {
    const res = await fetch(`${base}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('GET /readyz follows the checks, then draining', async () => {
    storeUp = true;
    let res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ready' });

    storeUp = false;
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not_ready', failing: ['store'], checks: { store: { ok: false, error: 'Error' } } });

    storeUp = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    readiness.setDraining();
    res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'not_ready', failing: ['draining'] });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('HEAD works, other methods are 405, other paths 404', async () => {
    expect((await fetch(`${base}/healthz`, { method: 'HEAD' })).status).toBe(200);
    const post = await fetch(`${base}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/metrics/extra`)).status).toBe(404);
    expect((await fetch(`${base}/constructor`)).status).toBe(404);
  });
});
