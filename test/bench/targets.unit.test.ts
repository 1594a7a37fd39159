import { describe, expect, it } from 'vitest';
import { renderChart } from '../../bench/chart.ts';
import { formatReport } from '../../bench/report.ts';
import type { BenchResults, RowResult } from '../../bench/results.ts';
import { checkTargets } from '../../bench/targets.ts';

const latency = (p50: number, p99: number) => ({ count: 1000, p50, p90: p99, p99, max: p99 * 2, mean: p50 });

function rowOf(id: RowResult['id'], rps: number, bRps: number): RowResult {
  return { id, label: `row ${id}`, rps, requests: rps * 10, non2xx: 0, errors: 0, latency: latency(1, 3), ratioToB: rps / bRps };
}

function results(
  overrides: {
    cRps?: number;
    dRps?: number;
    uRps?: number;
    mRps?: number | null;
    addedP50?: number;
    roundTrips?: number;
    grants?: number;
    reuse?: number;
    stormP99?: number;
    rss?: number;
    fixedFailures?: number;
    stale?: number;
    invalidationP99?: number;
  } = {},
): Omit<BenchResults, 'targets'> {
  const bRps = 4000;
  const rows = [rowOf('a', 9000, bRps), rowOf('b', bRps, bRps), rowOf('u', overrides.uRps ?? 5000, bRps), rowOf('c', overrides.cRps ?? 4200, bRps), rowOf('d', overrides.dRps ?? 4400, bRps)];
  if (overrides.mRps !== null) rows.push(rowOf('m', overrides.mRps ?? 1500, bRps));
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, memoryGb: 4, os: 'Linux', node: '24.0.0', loadAverage: { start: 0.1, end: 0.2 } },
    settings: { durationS: 10, warmupS: 2, connections: 50, stormRequests: 200, smoke: false, gatewayLogLevel: 'info' },
    rows,
    skipped: overrides.mRps === null ? [{ id: 'm', label: 'Apache + mod_auth_openidc', reason: 'apache2 is not installed' }] : [],
    fixedRate: { rate: 2000, b: latency(1, 2), c: latency(1 + (overrides.addedP50 ?? 0.2), 2.5), addedP50Ms: overrides.addedP50 ?? 0.2, requests: { b: 20000, c: 20000 }, failures: { b: 0, c: overrides.fixedFailures ?? 0 } },
    redis: { requests: 36000, commands: { ping: 20 }, commandsPerRequest: 0.001, probeRequests: 500, roundTripsPerRequest: overrides.roundTrips ?? 0.004 },
    gatewayPeakRssMb: overrides.rss ?? 90,
    storm: {
      requests: 200,
      instances: 2,
      tokenEndpointDelayMs: 50,
      refreshGrants: overrides.grants ?? 1,
      refreshReuse: overrides.reuse ?? 0,
      statuses: { '200': 200 },
      latency: latency(55, overrides.stormP99 ?? 120),
      freshTokenBurst: { statuses: { '200': 200 }, latency: latency(5, 15) },
      startedAfterExpiryMs: 100,
    },
    invalidation: { trials: 50, stale: overrides.stale ?? 0, delayMs: latency(2, overrides.invalidationP99 ?? 8) },
  };
}

const holds = (partial: Omit<BenchResults, 'targets'>) => Object.fromEntries(checkTargets(partial).map((t) => [t.name, t.holds]));

describe("the issue's targets", () => {
  it('all hold for a run that meets every one', () => {
    expect(holds(results())).toEqual(Object.fromEntries(Object.keys(holds(results())).map((name) => [name, true])));
  });

  it('(c) below 1.0x of bare http-proxy-3, 0.7x of bare undici or 2.5x of mod_auth_openidc is a miss', () => {
    expect(holds(results({ cRps: 3900 }))['(c) throughput vs bare http-proxy-3 (b)']).toBe(false);
    expect(holds(results({ uRps: 6100 }))['(c) throughput vs bare undici (u)']).toBe(false);
    expect(holds(results({ mRps: 1700 }))['(c) throughput vs mod_auth_openidc (m)']).toBe(false);
  });

  it('a skipped Apache row is not a pass: it says why it was not measured', () => {
    const checks = checkTargets(results({ mRps: null }));
    const apache = checks.find((t) => t.name === '(c) throughput vs mod_auth_openidc (m)')!;
    expect(apache.holds).toBe(false);
    expect(apache.actual).toContain('apache2 is not installed');
  });

  it('the memory store slower than Redis is a miss', () => {
    expect(holds(results({ dRps: 4100 }))['(d) memory throughput vs (c) Redis']).toBe(false);
  });

  it('more than 0.3 ms added p50 is a miss', () => {
    expect(holds(results({ addedP50: 0.31 }))['added p50 at 50% of (b) max rate']).toBe(false);
  });

  it('a baseline that queues at the fixed rate (busy machine) makes the added p50 not measurable, never met', () => {
    const partial = results();
    const queued = { ...partial, fixedRate: { ...partial.fixedRate, b: latency(650, 2000), c: latency(270, 1500), addedP50Ms: -380 } };
    const check = checkTargets(queued).find((t) => t.name === 'added p50 at 50% of (b) max rate')!;
    expect(check.holds).toBe(false);
    expect(check.actual).toContain('not measurable');
  });

  it('a setup that cannot keep up with the fixed rate misses, whatever the p50 of what it answered', () => {
    expect(holds(results({ fixedFailures: 10 }))['added p50 at 50% of (b) max rate']).toBe(false);
  });

  it('more than 0.05 Redis round trips per request is a miss', () => {
    expect(holds(results({ roundTrips: 0.06 }))['Redis round trips per request']).toBe(false);
  });

  it('one stale answer after a logout, or a p99 over 50 ms, is a miss', () => {
    expect(holds(results({ stale: 1 }))['logout on A refused on B']).toBe(false);
    expect(holds(results({ invalidationP99: 51 }))['logout on A refused on B']).toBe(false);
  });

  it('a storm with two refresh grants, none, or a reuse, is a miss', () => {
    expect(holds(results({ grants: 2 }))['storm refresh grants']).toBe(false);
    expect(holds(results({ grants: 0 }))['storm refresh grants']).toBe(false);
    expect(holds(results({ reuse: 1 }))['storm refresh grants']).toBe(false);
  });

  it('a storm p99 over 150 ms is a miss', () => {
    expect(holds(results({ stormP99: 151 }))['storm p99']).toBe(false);
  });

  it('a gateway over 150 MB is a miss', () => {
    expect(holds(results({ rss: 151 }))['gateway peak RSS']).toBe(false);
  });
});

describe('the report', () => {
  it('prints every row, the skipped ones with their reason, and every target; the chart draws a bar per row', () => {
    const partial = results({ cRps: 3300, mRps: null });
    const full: BenchResults = { ...partial, targets: checkTargets(partial) };
    const text = formatReport(full);
    for (const id of ['a', 'b', 'u', 'c', 'd']) expect(text).toContain(`(${id}) row ${id}`);
    expect(text).toContain('(m) Apache + mod_auth_openidc: SKIPPED, apache2 is not installed');
    expect(text).toContain('0.82');
    expect(text).toContain('NO');
    expect(text).toContain('0 of 50 still answered 200');
    const svg = renderChart(full);
    expect(svg.match(/<rect /g)?.length).toBe(1 + 5);
    expect(svg).toContain('target for (c): 1.0x (b)');
    expect(svg).toContain('skipped: apache2 is not installed');
    expect(svg).toContain('missed');
  });
});
