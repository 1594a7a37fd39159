import { describe, expect, it } from 'vitest';
import { escapeXml } from '../../bench/chart.ts';
import { percentile, summarize } from '../../bench/latency.ts';
import { commandDelta, parseCommandStats } from '../../bench/redis.ts';

describe('latency percentiles', () => {
  it('uses the nearest rank, so p50 of 1..100 is 50 and p99 is 99', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    const summary = summarize(samples);
    expect(summary.p50).toBe(50);
    expect(summary.p99).toBe(99);
    expect(summary.max).toBe(100);
    expect(summary.count).toBe(100);
  });

  it('keeps sub-millisecond resolution', () => {
    expect(percentile(Float64Array.from([0.12, 0.34, 0.56]), 50)).toBe(0.34);
  });

  it('reports zeros for an empty run rather than NaN', () => {
    expect(summarize([])).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 });
  });
});

describe('Redis command counting', () => {
  const info = (lines: string[]) => `# Commandstats\r\n${lines.join('\r\n')}\r\n`;

  it('reads calls per command from INFO commandstats, subcommands included', () => {
    const parsed = parseCommandStats(info(['cmdstat_evalsha:calls=12,usec=30,usec_per_call=2.5,rejected_calls=0,failed_calls=0', 'cmdstat_client|setinfo:calls=2,usec=1']));
    expect(parsed).toEqual({ evalsha: 12, 'client|setinfo': 2 });
  });

  it("counts what ran between two readings, without the benchmark's own INFO", () => {
    const before = { commands: { evalsha: 10, info: 1 }, readsProcessed: 5 };
    const after = { commands: { evalsha: 110, info: 2, get: 3 }, readsProcessed: 109 };
    expect(commandDelta(before, after)).toEqual({ evalsha: 100, get: 3 });
  });
});

describe('the chart', () => {
  it('escapes text so a label cannot break the SVG', () => {
    expect(escapeXml(`<a href="x">&'`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  });
});
