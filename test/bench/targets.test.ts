import { describe, expect, it } from 'vitest';
import { renderChart } from '../../bench/chart.ts';
import { formatReport } from '../../bench/report.ts';
import type { BenchResults, RowResult } from '../../bench/results.ts';
import { checkTargets } from '../../bench/targets.ts';

const latency = (p50: number, p99: number) => ({ count: 1000, p50, p90: p99, p99, max: p99 * 2, mean: p50 });

function rowOf(id: RowResult['id'], rps: number, bRps: number): RowResult {
  return { id, label: `row ${id}`, rps, requests: rps * 10, non2xx: 0, errors: 0, latency: latency(1, 3), ratioToB: rps / bRps };
}

function results(overrides: { cRps?: number; addedP50?: number; roundTrips?: number; grants?: number; stormP99?: number; rss?: number; fixedFailures?: number } = {}): Omit<BenchResults, 'targets'> {
  const bRps = 4000;
  return {
    version: 1,
    startedAt: '2026-01-01T00:00:00.000Z',
    finishedAt: '2026-01-01T00:01:00.000Z',
    machine: { cpu: 'Test CPU', cores: 2, memoryGb: 4, os: 'Linux', node: '24.0.0', loadAverage: { start: 0.1, end: 0.2 } },
    settings: { durationS: 10, warmupS: 2, connections: 50, stormRequests: 200, smoke: false, gatewayLogLevel: 'info' },
    rows: [rowOf('a', 9000, bRps), rowOf('b', bRps, bRps), rowOf('c', overrides.cRps ?? 3600, bRps), rowOf('d', 3800, bRps)],
    fixedRate: { rate: 2000, b: latency(1, 2), c: latency(1 + (overrides.addedP50 ?? 0.3), 2.5), addedP50Ms: overrides.addedP50 ?? 0.3, requests: { b: 20000, c: 20000 }, failures: { b: 0, c: overrides.fixedFailures ?? 0 } },
    redis: { requests: 36000, commands: { evalsha: 36000 }, commandsPerRequest: 1, probeRequests: 500, roundTripsPerRequest: overrides.roundTrips ?? 1 },
    gatewayPeakRssMb: overrides.rss ?? 90,
    storm: {
      requests: 200,
      instances: 2,
      tokenEndpointDelayMs: 50,
      refreshGrants: overrides.grants ?? 1,
      refreshReuse: 0,
      statuses: { '200': 200 },
      latency: latency(55, overrides.stormP99 ?? 65),
      freshTokenBurst: { statuses: { '200': 200 }, latency: latency(5, 15) },
      startedAfterExpiryMs: 100,
    },
  };
}

const holds = (partial: Omit<BenchResults, 'targets'>) => Object.fromEntries(checkTargets(partial).map((t) => [t.name, t.holds]));

describe("the issue's targets", () => {
  it('all hold for a run that meets every one', () => {
    expect(Object.values(holds(results())).every(Boolean)).toBe(true);
  });

  it('(c) below 0.85x of (b) is a miss', () => {
    expect(holds(results({ cRps: 3300 }))['(c) throughput vs (b)']).toBe(false);
  });

  it('more than 0.5 ms added p50 is a miss', () => {
    expect(holds(results({ addedP50: 0.6 }))['added p50 at 50% of (b) max rate']).toBe(false);
  });

  it('a setup that cannot keep up with the fixed rate misses, whatever the p50 of what it answered', () => {
    expect(holds(results({ fixedFailures: 10 }))['added p50 at 50% of (b) max rate']).toBe(false);
  });

  it('two round trips per request is a miss', () => {
    expect(holds(results({ roundTrips: 2 }))['Redis round trips per request']).toBe(false);
  });

  it('a storm with two refresh grants, or none, is a miss', () => {
    expect(holds(results({ grants: 2 }))['storm refresh grants']).toBe(false);
    expect(holds(results({ grants: 0 }))['storm refresh grants']).toBe(false);
  });

  it('a storm p99 over the token endpoint latency plus 20 ms is a miss', () => {
    expect(holds(results({ stormP99: 71 }))['storm p99']).toBe(false);
  });

  it('a gateway over 150 MB is a miss', () => {
    expect(holds(results({ rss: 151 }))['gateway peak RSS']).toBe(false);
  });
});

describe('the report', () => {
  it('prints every row and every target, and the chart draws a bar per row', () => {
    const partial = results({ cRps: 3300 });
    const full: BenchResults = { ...partial, targets: checkTargets(partial) };
    const text = formatReport(full);
    for (const id of ['a', 'b', 'c', 'd']) expect(text).toContain(`(${id}) row ${id}`);
    expect(text).toContain('0.82');
    expect(text).toContain('NO');
    const svg = renderChart(full);
    expect(svg.match(/<rect /g)?.length).toBe(1 + 4);
    expect(svg).toContain('target for (c): 0.85x (b)');
    expect(svg).toContain('missed');
  });
});
