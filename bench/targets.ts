import type { BenchResults, RowId, TargetCheck } from './results.ts';

/**
 * The issue's targets, checked against one run's results. A target whose row did not run (e.g.
 * Apache not installed) is not met: it says "not measured" and why.
 */
export const TARGETS = {
  /** Row (c) throughput over each reference row's. */
  cOverB: 1.0,
  cOverUndici: 0.7,
  cOverApache: 2.5,
  addedP50Ms: 0.3,
  redisRoundTrips: 0.05,
  invalidationMs: 50,
  peakRssMb: 150,
  stormP99Ms: 150,
} as const;

export function checkTargets(results: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const rowOf = (id: RowId) => results.rows.find((row) => row.id === id);
  const c = rowOf('c');
  const storm = results.storm;
  const failing = results.rows.filter((row) => row.non2xx > 0 || row.errors > 0);
  const ratio = (id: RowId, wanted: number, name: string): TargetCheck => {
    const other = rowOf(id);
    const skipped = results.skipped?.find((row) => row.id === id);
    if (c === undefined || other === undefined || other.rps === 0) {
      return { name, target: `>= ${wanted.toFixed(1)}x`, actual: `not measured${skipped ? ` (${skipped.reason})` : ''}`, holds: false };
    }
    const value = c.rps / other.rps;
    return { name, target: `>= ${wanted.toFixed(1)}x`, actual: `${value.toFixed(2)}x`, holds: value >= wanted };
  };
  const d = rowOf('d');
  const invalidation = results.invalidation;
  return [
    {
      name: 'every row answered 2xx only',
      target: '0 errors',
      actual: failing.length === 0 ? '0 errors' : failing.map((row) => `(${row.id}) ${row.non2xx} non-2xx, ${row.errors} errors`).join('; '),
      holds: failing.length === 0,
    },
    ratio('b', TARGETS.cOverB, '(c) throughput vs bare http-proxy-3 (b)'),
    ratio('u', TARGETS.cOverUndici, '(c) throughput vs bare undici (u)'),
    ratio('m', TARGETS.cOverApache, '(c) throughput vs mod_auth_openidc (m)'),
    {
      name: '(d) memory throughput vs (c) Redis',
      target: '>= 1.0x',
      actual: c && d ? `${(d.rps / c.rps).toFixed(2)}x` : 'not measured',
      holds: c !== undefined && d !== undefined && d.rps >= c.rps,
    },
    {
      name: 'added p50 at 50% of (b) max rate',
      target: `<= ${TARGETS.addedP50Ms} ms`,
      actual: `${fmt(results.fixedRate.addedP50Ms)} ms${results.fixedRate.failures.c > 0 ? ` ((c) failed ${results.fixedRate.failures.c} of ${results.fixedRate.requests.c})` : ''}`,
      holds: results.fixedRate.addedP50Ms <= TARGETS.addedP50Ms && results.fixedRate.failures.b === 0 && results.fixedRate.failures.c === 0,
    },
    {
      name: 'Redis round trips per request',
      target: `<= ${TARGETS.redisRoundTrips}`,
      actual: `${results.redis.roundTripsPerRequest.toFixed(3)} (${results.redis.commandsPerRequest.toFixed(3)} commands)`,
      holds: results.redis.roundTripsPerRequest <= TARGETS.redisRoundTrips,
    },
    {
      name: 'logout on A refused on B',
      target: `next request, p99 <= ${TARGETS.invalidationMs} ms`,
      actual: invalidation ? `${invalidation.stale} stale of ${invalidation.trials}; p50 ${fmt(invalidation.delayMs.p50)} ms, p99 ${fmt(invalidation.delayMs.p99)} ms, max ${fmt(invalidation.delayMs.max)} ms` : 'not measured',
      holds: invalidation !== undefined && invalidation.trials > 0 && invalidation.stale === 0 && invalidation.delayMs.p99 <= TARGETS.invalidationMs,
    },
    {
      name: 'storm refresh grants',
      target: 'exactly 1, 0 reuse',
      actual: `${storm.refreshGrants} (reuse ${storm.refreshReuse})`,
      holds: storm.refreshGrants === 1 && storm.refreshReuse === 0,
    },
    {
      name: 'storm p99',
      target: `<= ${TARGETS.stormP99Ms} ms`,
      actual: `${fmt(storm.latency.p99)} ms`,
      holds: storm.latency.count > 0 && storm.latency.p99 <= TARGETS.stormP99Ms && (storm.statuses['200'] ?? 0) === storm.requests,
    },
    {
      name: 'gateway peak RSS',
      target: `<= ${TARGETS.peakRssMb} MB`,
      actual: `${results.gatewayPeakRssMb} MB`,
      holds: results.gatewayPeakRssMb > 0 && results.gatewayPeakRssMb <= TARGETS.peakRssMb,
    },
  ];
}

function fmt(value: number): string {
  return value.toFixed(value < 10 ? 2 : 1);
}
