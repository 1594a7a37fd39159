import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BenchResults, FixedRateResult } from './results.ts';
import { renderChart } from './chart.ts';

/** The printed table, and the files under bench/results/. */
export function formatReport(results: BenchResults): string {
  const lines: string[] = [];
  const { settings, machine } = results;
  lines.push(`Tokengate benchmark  ${results.startedAt}`);
  lines.push(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}; load average ${machine.loadAverage.start} at start, ${machine.loadAverage.end} at end`);
  lines.push(
    `${settings.connections} connections, ${settings.durationS} s per row (+${settings.warmupS} s warm-up); gateway ${settings.gatewayBuild === 'compiled' ? 'compiled to JavaScript' : 'run from TypeScript source'}${settings.gatewayNodeOptions?.length ? ` with ${settings.gatewayNodeOptions.join(' ')}` : ''}${settings.smoke ? ', SMOKE MODE (numbers are not meaningful)' : ''}`,
  );
  lines.push('');
  lines.push(table(
    ['row', 'rps', 'p50 ms', 'p99 ms', 'x (b)', 'CPU us/req', 'Redis CPU us/req', 'non-2xx', 'errors', 'peak RSS MB'],
    results.rows.map((row) => [
      `(${row.id}) ${row.label}`,
      Math.round(row.rps).toString(),
      row.latency.p50.toFixed(2),
      row.latency.p99.toFixed(2),
      row.ratioToB.toFixed(2),
      row.cpuUsPerRequest === undefined ? '' : Math.round(row.cpuUsPerRequest).toString(),
      row.redisCpuUsPerRequest === undefined ? '' : Math.round(row.redisCpuUsPerRequest).toString(),
      String(row.non2xx),
      String(row.errors),
      row.peakRssMb === undefined ? '' : row.peakRssMb.toFixed(1),
    ]),
  ));
  for (const skipped of results.skipped ?? []) lines.push(`(${skipped.id}) ${skipped.label}: SKIPPED, ${skipped.reason}`);
  lines.push('');
  lines.push(fixedRateLine("50% of (b)'s max", results.fixedRate));
  if (results.fixedRateAtHalfOfC) lines.push(fixedRateLine("50% of (c)'s max", results.fixedRateAtHalfOfC));
  const redis = results.redis;
  const commands = Object.entries(redis.commands).map(([name, calls]) => `${name} ${(calls / Math.max(1, redis.requests)).toFixed(2)}`).join(', ');
  lines.push(`Redis per steady-state request (c): ${redis.commandsPerRequest.toFixed(2)} commands, counting those a script runs [${commands || 'none'}] over ${redis.requests} requests; ${redis.roundTripsPerRequest.toFixed(2)} round trips (${redis.probeRequests} sequential requests)`);
  lines.push(`Gateway peak RSS: ${results.gatewayPeakRssMb} MB`);
  const storm = results.storm;
  const statuses = Object.entries(storm.statuses).map(([status, count]) => `${status}x${count}`).join(' ');
  lines.push(`Refresh storm (e): ${storm.requests} requests over ${storm.instances} gateways sharing Redis, ${storm.startedAfterExpiryMs} ms after expiry; refresh grants ${storm.refreshGrants}, reuse ${storm.refreshReuse}; statuses ${statuses}; p50 ${storm.latency.p50.toFixed(1)} ms, p99 ${storm.latency.p99.toFixed(1)} ms, max ${storm.latency.max.toFixed(1)} ms (token endpoint delay ${storm.tokenEndpointDelayMs} ms)`);
  lines.push(`  the same burst with a fresh token (no refresh): p50 ${storm.freshTokenBurst.latency.p50.toFixed(1)} ms, p99 ${storm.freshTokenBurst.latency.p99.toFixed(1)} ms`);
  const inv = results.invalidation;
  if (inv) {
    lines.push(`Near cache: logout on replica A, then B's next request: ${inv.stale} of ${inv.trials} still answered 200; A's answer to B's answer p50 ${inv.delayMs.p50.toFixed(2)} ms, p99 ${inv.delayMs.p99.toFixed(2)} ms, max ${inv.delayMs.max.toFixed(2)} ms`);
  }
  lines.push('');
  lines.push(table(['target', 'wanted', 'measured', 'holds'], results.targets.map((t) => [t.name, t.target, t.actual, t.holds ? 'yes' : 'NO'])));
  return lines.join('\n');
}

export async function writeResults(dir: string, results: BenchResults): Promise<{ json: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const svg = join(dir, 'latest.svg');
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(svg, renderChart(results));
  return { json, svg };
}

function fixedRateLine(what: string, fixed: FixedRateResult): string {
  return `At ${Math.round(fixed.rate)} rps (${what}): (b) p50 ${fixed.b.p50.toFixed(3)} ms, p99 ${fixed.b.p99.toFixed(3)} ms; (c) p50 ${fixed.c.p50.toFixed(3)} ms, p99 ${fixed.c.p99.toFixed(3)} ms; added p50 ${fixed.addedP50Ms.toFixed(3)} ms; not answered 2xx: (b) ${fixed.failures.b} of ${fixed.requests.b}, (c) ${fixed.failures.c} of ${fixed.requests.c}`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const render = (cells: string[]) => cells.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(render)].join('\n');
}
