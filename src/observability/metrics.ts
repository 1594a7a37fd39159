import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { RefreshOutcome } from '../tokens/types.ts';

/**
 * Tokengate's Prometheus metrics, on a registry of their own (never prom-client's global one:
 * tests build many). Every label value comes from a bounded set:
 *
 * - `route`: a configured route's name (its prefix), a fixed endpoint name (`auth.login`,
 *   `forward_auth.verify`, ...), or `unmatched`. Never a raw request path.
 * - `method`: one of HTTP_METHODS, else `OTHER`.
 * - `status`: the numeric HTTP status.
 * - refresh `outcome`: REFRESH_OUTCOMES.
 * - replay `outcome`: REPLAY_OUTCOMES, else `other`.
 * - store `op`: a Store method name (STORE_OPS).
 * - `provider`: a provider id from config; revocation `outcome`: REVOCATION_OUTCOMES, else `other`.
 */

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
/** Every RefreshOutcome a refresh can end with (`none`, `background` and `provider_mismatch` are not refreshes). */
const REFRESH_OUTCOMES = ['success', 'coalesced', 'transient', 'invalid_grant', 'reuse_detected', 'no_token_set', 'no_refresh_token', 'invalid_target', 'error'] as const satisfies readonly RefreshOutcome[];
const REPLAY_OUTCOMES = ['replayed', 'rejected_again', 'not_replayable', 'refresh_failed', 'cooldown', 'dpop_nonce'] as const;
const REVOCATION_OUTCOMES = ['success', 'failed', 'abandoned', 'skipped'] as const;
const STORE_OPS = [
  'createSession',
  'loadSession',
  'getSession',
  'destroySession',
  'getTokens',
  'compareAndSetTokens',
  'deleteTokens',
  'acquireLock',
  'renewLock',
  'releaseLock',
  'listUserSessions',
  'describeUserSessions',
  'destroyUserSessions',
  'findByProviderSid',
  'putEphemeral',
  'takeEphemeral',
  'admitPendingLogin',
  'releasePendingLogin',
  'markOnce',
  'isMarked',
  'ping',
] as const;

export type StoreOp = (typeof STORE_OPS)[number];

const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const LOCK_WAIT_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export interface MetricsOptions {
  /** Process metrics (CPU, memory, event loop lag, GC). Default true; tests that build many registries turn it off. */
  defaultMetrics?: boolean;
}

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly refreshes: Counter<'outcome'>;
  readonly lockWait: Histogram;
  readonly storeDuration: Histogram<'op'>;
  readonly storeErrors: Counter<'op'>;
  /** Token writes the Redis replicas did not confirm in time (`unconfirmed`), made with no replica connected (`no_replica`), or written again after a failover lost them (`restored`). */
  readonly storeUnreplicatedWrites: Counter<'op' | 'outcome'>;
  readonly revocations: Counter<'provider' | 'outcome'>;

  /** One finished request to the gateway (the access log calls this). */
  countRequest(route: string, method: string, status: number): void;
  /** Time to the upstream's response head (the proxy's `observeUpstream`). */
  observeUpstream(route: string, status: number, seconds: number): void;
  /** One refresh attempt's outcome (TokenService's `countRefresh`); outcomes that are no refresh (`none`, `background`, `provider_mismatch`) are not counted. */
  countRefresh(outcome: RefreshOutcome): void;
  /** Seconds a request waited for the refresh lock or another replica's refresh. */
  observeLockWait(seconds: number): void;
  /** What replay-once did after an upstream 401. */
  countReplay(route: string, outcome: string): void;
  /** One revocation attempt at a provider. */
  countRevocation(provider: string, outcome: string): void;
  /** The exposition text and its content type, for GET /metrics. */
  render(): Promise<{ contentType: string; body: string }>;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const registers = [registry];
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const counter = <const L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  const histogram = <const L extends string>(name: string, help: string, buckets: number[], labelNames: readonly L[] = []) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });

  const httpRequests = counter('tokengate_http_requests_total', 'Requests answered by the gateway, by route label, method and status.', ['route', 'method', 'status']);
  const upstreamDuration = histogram('tokengate_upstream_duration_seconds', 'Time from forwarding a request to the upstream response head.', UPSTREAM_BUCKETS, ['route', 'status']);
  const refreshes = counter('tokengate_refresh_total', 'Token refreshes by outcome.', ['outcome']);
  const lockWait = histogram('tokengate_lock_wait_seconds', 'Time a request waited for the refresh lock or for another refresh to finish.', LOCK_WAIT_BUCKETS);
  const replays = counter(
    'tokengate_replay_total',
    'What happened after an upstream 401: replayed, rejected again, not replayable, no newer token to replay with, cooldown (no refresh), or a DPoP nonce resend.',
    ['route', 'outcome'],
  );
  const storeDuration = histogram('tokengate_store_duration_seconds', 'Session store call duration by operation.', STORE_BUCKETS, ['op']);
  const storeErrors = counter('tokengate_store_errors_total', 'Failed session store calls by operation.', ['op']);
  const storeUnreplicatedWrites = counter(
    'tokengate_store_unreplicated_writes_total',
    'Token writes the Redis replicas did not confirm within replicationWait.timeout (outcome unconfirmed), made on a master with no replica connected (no_replica), or written again after a failover lost them (restored).',
    ['op', 'outcome'],
  );
  const revocations = counter('tokengate_revocations_total', 'Token revocations at the provider by outcome.', ['provider', 'outcome']);

  // Pre-bound label sets: prom-client hashes a label object on every inc/observe; a child bound
  // once per label set skips that (and the object) on the hot path. Every label value comes from a
  // bounded set (see above), so these maps are bounded too.
  const requestSeries = new Map<string, Counter.Internal>();
  const upstreamSeries = new Map<string, Histogram.Internal<'route' | 'status'>>();

  return {
    registry,
    httpRequests,
    refreshes,
    lockWait,
    storeDuration,
    storeErrors,
    storeUnreplicatedWrites,
    revocations,
    countRequest(route, method, status) {
      const label = oneOf(HTTP_METHODS, method.toUpperCase(), 'OTHER');
      const key = `${route} ${label} ${status}`;
      let series = requestSeries.get(key);
      if (series === undefined) {
        series = httpRequests.labels({ route, method: label, status: String(status) });
        requestSeries.set(key, series);
      }
      series.inc();
    },
    observeUpstream(route, status, seconds) {
      const key = `${route} ${status}`;
      let series = upstreamSeries.get(key);
      if (series === undefined) {
        series = upstreamDuration.labels({ route, status: String(status) });
        upstreamSeries.set(key, series);
      }
      series.observe(seconds);
    },
    countRefresh(outcome) {
      if (!(REFRESH_OUTCOMES as readonly string[]).includes(outcome)) return;
      refreshes.inc({ outcome });
    },
    observeLockWait(seconds) {
      lockWait.observe(seconds);
    },
    countReplay(route, outcome) {
      replays.inc({ route, outcome: oneOf(REPLAY_OUTCOMES, outcome, 'other') });
    },
    countRevocation(provider, outcome) {
      revocations.inc({ provider, outcome: oneOf(REVOCATION_OUTCOMES, outcome, 'other') });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

function oneOf(allowed: readonly string[], value: string, fallback: string): string {
  return allowed.includes(value) ? value : fallback;
}
