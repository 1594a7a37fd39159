import { afterEach, describe, expect, it } from 'vitest';
import { instrumentStore } from '../../src/observability/instrument-store.ts';
import { createMetrics, type Metrics } from '../../src/observability/metrics.ts';
import { MemoryStore } from '../../src/store/index.ts';
import type { SessionRecord } from '../../src/store/types.ts';

async function sample(metrics: Metrics, series: string): Promise<number> {
  const { body } = await metrics.render();
  const line = body.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}

describe('createMetrics', () => {
  it('owns its registry: two instances do not share counts', async () => {
    const a = createMetrics({ defaultMetrics: false });
    const b = createMetrics({ defaultMetrics: false });
    a.countRequest('/api', 'GET', 200);
    expect(await sample(a, 'tokengate_http_requests_total{route="/api",method="GET",status="200"}')).toBe(1);
    expect(await sample(b, 'tokengate_http_requests_total{route="/api",method="GET",status="200"}')).toBe(0);
  });

  it('exposes every Tokengate series and the process metrics', async () => {
    const metrics = createMetrics();
    const { contentType, body } = await metrics.render();
    expect(contentType).toContain('text/plain');
    for (const name of [
      'tokengate_http_requests_total',
      'tokengate_upstream_duration_seconds',
      'tokengate_refresh_total',
      'tokengate_lock_wait_seconds',
      'tokengate_replay_total',
      'tokengate_store_duration_seconds',
      'tokengate_store_errors_total',
      'tokengate_revocations_total',
      'process_cpu_user_seconds_total',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(body).toContain(`# TYPE ${name} `);
    }
  });

  it('counts requests, refreshes, replays and revocations by label', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.countRequest('auth.login', 'get', 302);
    metrics.countRequest('auth.login', 'GET', 302);
    metrics.countRequest('unmatched', 'PROPFIND', 404);
    metrics.countRefresh('success');
    metrics.countRefresh('coalesced');
    metrics.countRefresh('coalesced');
    metrics.countRefresh('none');
    metrics.countRefresh('provider_mismatch');
    metrics.countRefresh('no_refresh_token');
    metrics.countReplay('/api', 'replayed');
    metrics.countRevocation('google', 'failed');
    expect(await sample(metrics, 'tokengate_http_requests_total{route="auth.login",method="GET",status="302"}')).toBe(2);
    expect(await sample(metrics, 'tokengate_http_requests_total{route="unmatched",method="OTHER",status="404"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_refresh_total{outcome="success"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_refresh_total{outcome="coalesced"}')).toBe(2);
    expect(await sample(metrics, 'tokengate_refresh_total{outcome="no_refresh_token"}')).toBe(1);
    expect((await metrics.render()).body).not.toContain('outcome="none"');
    expect((await metrics.render()).body).not.toContain('outcome="provider_mismatch"');
    expect(await sample(metrics, 'tokengate_replay_total{route="/api",outcome="replayed"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_revocations_total{provider="google",outcome="failed"}')).toBe(1);
  });

  it('observes upstream and lock-wait durations into histograms', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeUpstream('/api', 200, 0.02);
    metrics.observeUpstream('/api', 200, 3);
    metrics.observeLockWait(0.004);
    expect(await sample(metrics, 'tokengate_upstream_duration_seconds_count{route="/api",status="200"}')).toBe(2);
    expect(await sample(metrics, 'tokengate_upstream_duration_seconds_bucket{le="0.025",route="/api",status="200"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_upstream_duration_seconds_sum{route="/api",status="200"}')).toBeCloseTo(3.02);
    expect(await sample(metrics, 'tokengate_lock_wait_seconds_bucket{le="0.005"}')).toBe(1);
  });
});

describe('instrumentStore', () => {
  let store: MemoryStore | undefined;
  afterEach(async () => {
    await store?.close();
  });

  const session: SessionRecord = {
    sid: 'instrumented-sid',
    provider: 'oidc',
    sub: 'alice',
    claims: {},
    createdAt: Date.now(),
    absoluteExpiresAt: Date.now() + 60_000,
  };

  it('times every call by op and passes results through', async () => {
    store = new MemoryStore();
    const metrics = createMetrics({ defaultMetrics: false });
    const timed = instrumentStore(store, metrics);
    expect(timed.kind).toBe('memory');
    await timed.createSession(session, { accessToken: 'v1.sealed', obtainedAt: Date.now(), tokenType: 'Bearer' }, 60_000);
    const bundle = await timed.loadSession(session.sid, 60_000);
    expect(bundle?.session.sub).toBe('alice');
    expect(await timed.acquireLock(session.sid, 'me', 1_000)).toBe(true);
    expect(await timed.acquireLock(session.sid, 'other', 1_000)).toBe(false);
    await timed.ping();
    expect(await sample(metrics, 'tokengate_store_duration_seconds_count{op="createSession"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_store_duration_seconds_count{op="loadSession"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_store_duration_seconds_count{op="acquireLock"}')).toBe(2);
    expect(await sample(metrics, 'tokengate_store_duration_seconds_count{op="ping"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_store_errors_total{op="ping"}')).toBe(0);
  });

  it('counts a rejected call as an error of its op and rethrows it unchanged', async () => {
    store = new MemoryStore();
    const metrics = createMetrics({ defaultMetrics: false });
    const timed = instrumentStore(store, metrics);
    await timed.close();
    const failure = await timed.getSession('any').catch((err: unknown) => err);
    expect(failure).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await sample(metrics, 'tokengate_store_errors_total{op="getSession"}')).toBe(1);
    expect(await sample(metrics, 'tokengate_store_duration_seconds_count{op="getSession"}')).toBe(1);
  });
});
