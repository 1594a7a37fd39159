import type { BenchResults } from './results.ts';
import { TARGETS } from './targets.ts';

/**
 * A hand-written SVG bar chart of one run: throughput per row with its ratio to (b) and its
 * latency, then the storm and the targets. Plain rects and text; no chart library.
 */
const WIDTH = 1040;
const LABEL_WIDTH = 230;
const BAR_MAX = 320;
const DETAIL_X = LABEL_WIDTH + BAR_MAX + 16;
const BAR_HEIGHT = 26;
const ROW_GAP = 12;
const COLORS: Record<string, string> = { a: '#9aa5b1', b: '#52606d', u: '#7b8794', c: '#2563eb', d: '#60a5fa', m: '#b45309' };

export function renderChart(results: BenchResults): string {
  const parts: string[] = [];
  const maxRps = Math.max(1, ...results.rows.map((row) => row.rps));
  let y = 36;
  parts.push(text(20, y, 'Tokengate benchmark: requests per second (higher is better)', { size: 18, weight: 'bold' }));
  y += 22;
  const m = results.machine;
  const s = results.settings;
  parts.push(text(20, y, `${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB, ${m.os}, Node ${m.node}, load avg ${m.loadAverage.start}; ${s.connections} connections, ${s.durationS} s per row; ${results.startedAt.slice(0, 10)}${s.smoke ? ' (smoke run)' : ''}`, { size: 12, fill: '#52606d' }));
  y += 24;

  const barsTop = y;
  for (const row of results.rows) {
    const width = Math.max(1, Math.round((row.rps / maxRps) * BAR_MAX));
    parts.push(text(20, y + 18, `(${row.id}) ${row.label}`, { size: 13 }));
    parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}" rx="3" fill="${COLORS[row.id] ?? '#888'}"/>`);
    const cpu = row.cpuUsPerRequest === undefined ? '' : ` · ${Math.round(row.cpuUsPerRequest)} µs CPU/req${row.redisCpuUsPerRequest === undefined ? '' : ` (+${Math.round(row.redisCpuUsPerRequest)} Redis)`}`;
    const detail = `${Math.round(row.rps).toLocaleString('en-US')} rps · ${row.ratioToB.toFixed(2)}x (b) · p50 ${row.latency.p50.toFixed(2)} ms · p99 ${row.latency.p99.toFixed(2)} ms${cpu}`;
    parts.push(text(DETAIL_X, y + 18, detail, { size: 12 }));
    y += BAR_HEIGHT + ROW_GAP;
  }
  for (const skipped of results.skipped ?? []) {
    parts.push(text(20, y + 18, `(${skipped.id}) ${skipped.label}`, { size: 13 }));
    parts.push(text(LABEL_WIDTH, y + 18, `skipped: ${skipped.reason}`, { size: 12, fill: '#b91c1c' }));
    y += BAR_HEIGHT + ROW_GAP;
  }
  // The throughput target: 1.0x of (b).
  const b = results.rows.find((row) => row.id === 'b');
  if (b !== undefined) {
    const x = LABEL_WIDTH + Math.round(((TARGETS.cOverB * b.rps) / maxRps) * BAR_MAX);
    parts.push(`<line x1="${x}" y1="${barsTop - 4}" x2="${x}" y2="${y - ROW_GAP + 4}" stroke="#b91c1c" stroke-width="1.5" stroke-dasharray="4 3"/>`);
    parts.push(text(x + 4, y + 6, `target for (c): ${TARGETS.cOverB.toFixed(1)}x (b)`, { size: 11, fill: '#b91c1c' }));
    y += 12;
  }

  y += 24;
  const storm = results.storm;
  const lines = [
    `Added p50 at ${Math.round(results.fixedRate.rate)} rps (50% of (b) max): ${results.fixedRate.addedP50Ms.toFixed(3)} ms` +
      (results.fixedRateAtHalfOfC ? `; at ${Math.round(results.fixedRateAtHalfOfC.rate)} rps (50% of (c) max): ${results.fixedRateAtHalfOfC.addedP50Ms.toFixed(3)} ms` : ''),
    `Redis per request (c): ${results.redis.roundTripsPerRequest.toFixed(2)} round trips, ${results.redis.commandsPerRequest.toFixed(2)} commands (counting those a script runs)`,
    `Gateway peak RSS: ${results.gatewayPeakRssMb} MB`,
    ...(results.invalidation
      ? [`Near cache: logout on A, B's next request refused in ${results.invalidation.trials - results.invalidation.stale} of ${results.invalidation.trials} trials; p50 ${results.invalidation.delayMs.p50.toFixed(2)} ms, p99 ${results.invalidation.delayMs.p99.toFixed(2)} ms`]
      : []),
    `(e) refresh storm: ${storm.requests} requests over ${storm.instances} gateways: ${storm.refreshGrants} refresh grant(s), ${storm.refreshReuse} reuse, p99 ${storm.latency.p99.toFixed(1)} ms`,
    `     (token endpoint ${storm.tokenEndpointDelayMs} ms; the same burst with a fresh token: p99 ${storm.freshTokenBurst.latency.p99.toFixed(1)} ms)`,
  ];
  for (const line of lines) {
    parts.push(text(20, y, line, { size: 13 }));
    y += 20;
  }
  y += 8;
  parts.push(text(20, y, 'Targets', { size: 14, weight: 'bold' }));
  y += 20;
  for (const target of results.targets) {
    parts.push(text(20, y, target.holds ? 'holds' : 'missed', { size: 12, weight: 'bold', fill: target.holds ? '#15803d' : '#b91c1c' }));
    parts.push(text(80, y, `${target.name}: wanted ${target.target}, measured ${target.actual}`, { size: 12 }));
    y += 18;
  }
  const height = y + 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function text(x: number, y: number, content: string, style: { size: number; weight?: string; fill?: string }): string {
  const weight = style.weight ? ` font-weight="${style.weight}"` : '';
  return `<text x="${x}" y="${y}" font-size="${style.size}"${weight} fill="${style.fill ?? '#1f2933'}">${escapeXml(content)}</text>`;
}

export function escapeXml(value: string): string {
  return value.replace(/[<>&"']/g, (ch) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[ch]!);
}
