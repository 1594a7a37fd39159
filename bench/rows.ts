import type { BenchOptions } from './args.ts';
import { cpuTimeMs } from './cpu.ts';
import type { LatencySummary } from './latency.ts';
import { summarize } from './latency.ts';
import { runLoad, type LoadResult } from './load.ts';
import { runPaced } from './paced.ts';
import { sampleRss, type RssReading } from './rss.ts';

/**
 * Throughput rows and the fixed-rate latency comparison. Every row gets an unmeasured warm-up
 * (so the JIT has settled) and then the measured run with the same connections and duration.
 */
export interface RowTarget {
  url: string;
  headers?: Record<string, string>;
  /** The process whose memory is reported. */
  pid?: number;
}

export interface MeasuredRow {
  load: LoadResult;
  rss?: RssReading;
  /** CPU time the process under test used per request served, microseconds. */
  cpuUsPerRequest?: number;
}

export async function warmUp(target: RowTarget, options: BenchOptions): Promise<void> {
  if (options.warmupS > 0) await runLoad({ url: target.url, connections: options.connections, headers: target.headers ?? {}, durationS: options.warmupS });
}

/** The measured, saturating run: as many requests as the server answers. */
export async function measure(target: RowTarget, options: BenchOptions): Promise<MeasuredRow> {
  const sampler = target.pid === undefined ? undefined : sampleRss(target.pid);
  const cpuBefore = target.pid === undefined ? undefined : await cpuTimeMs(target.pid);
  const load = await runLoad({ url: target.url, connections: options.connections, headers: target.headers ?? {}, durationS: options.durationS });
  const cpuAfter = target.pid === undefined ? undefined : await cpuTimeMs(target.pid);
  const rss = await sampler?.stop();
  const cpuUsPerRequest = cpuBefore === undefined || cpuAfter === undefined || load.requests === 0 ? undefined : ((cpuAfter - cpuBefore) * 1000) / load.requests;
  return { load, ...(rss === undefined ? {} : { rss }), ...(cpuUsPerRequest === undefined ? {} : { cpuUsPerRequest }) };
}

export interface AtRate {
  latency: LatencySummary;
  /** Requests that were not answered 2xx (an error status, a failure, or no answer in time). */
  failures: number;
  requests: number;
}

export interface FixedRateComparison {
  baseline: AtRate;
  subject: AtRate;
}

/**
 * Latency of two setups at the same fixed request rate. The machine is shared and noisy, so the
 * two alternate in `rounds` slices (baseline, subject, baseline, ...) of `durationS / rounds`
 * each, and each setup's samples are pooled over its slices.
 */
export async function compareAtRate(
  baseline: RowTarget,
  subject: RowTarget,
  rate: number,
  options: BenchOptions,
  rounds: number,
): Promise<FixedRateComparison> {
  const slice = Math.max(0.5, options.durationS / rounds);
  const samples = { baseline: [] as number[], subject: [] as number[] };
  const failures = { baseline: 0, subject: 0 };
  const requests = { baseline: 0, subject: 0 };
  for (const target of [baseline, subject]) {
    await runPaced({ url: target.url, headers: target.headers ?? {}, rate, durationS: Math.min(1, options.warmupS || 0.2), connections: options.connections });
  }
  for (let round = 0; round < rounds; round += 1) {
    for (const [name, target] of [['baseline', baseline], ['subject', subject]] as const) {
      const result = await runPaced({ url: target.url, headers: target.headers ?? {}, rate, durationS: slice, connections: options.connections, keepSamples: true });
      samples[name].push(...result.samples);
      failures[name] += result.non2xx + result.errors;
      requests[name] += result.requests;
    }
  }
  const side = (name: 'baseline' | 'subject'): AtRate => ({ latency: summarize(samples[name]), failures: failures[name], requests: requests[name] });
  return { baseline: side('baseline'), subject: side('subject') };
}
