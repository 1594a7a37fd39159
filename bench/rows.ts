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
  /** The process whose memory is reported (and whose CPU is, unless `cpuPids` says more). */
  pid?: number;
  /** Every process of the setup under test, for CPU (Apache: the parent and its children). */
  cpuPids?: () => Promise<number[]>;
  /** redis-server, when the setup uses it: its CPU per request is reported too. */
  redisPid?: number;
}

export interface MeasuredRow {
  load: LoadResult;
  rss?: RssReading;
  /** CPU time the processes under test used per request served, microseconds. */
  cpuUsPerRequest?: number;
  redisCpuUsPerRequest?: number;
}

async function cpuOf(pids: readonly number[]): Promise<number | undefined> {
  let total = 0;
  for (const pid of pids) {
    const ms = await cpuTimeMs(pid);
    if (ms === undefined) return undefined;
    total += ms;
  }
  return total;
}

export async function warmUp(target: RowTarget, options: BenchOptions): Promise<void> {
  if (options.warmupS > 0) await runLoad({ url: target.url, connections: options.connections, headers: target.headers ?? {}, durationS: options.warmupS });
}

/** The measured, saturating run: as many requests as the server answers. */
export async function measure(target: RowTarget, options: BenchOptions): Promise<MeasuredRow> {
  const sampler = target.pid === undefined ? undefined : sampleRss(target.pid);
  const pids = target.cpuPids ? await target.cpuPids() : target.pid === undefined ? [] : [target.pid];
  const redisPids = target.redisPid === undefined ? [] : [target.redisPid];
  const cpuBefore = pids.length === 0 ? undefined : await cpuOf(pids);
  const redisBefore = redisPids.length === 0 ? undefined : await cpuOf(redisPids);
  const load = await runLoad({ url: target.url, connections: options.connections, headers: target.headers ?? {}, durationS: options.durationS });
  const cpuAfter = pids.length === 0 ? undefined : await cpuOf(pids);
  const redisAfter = redisPids.length === 0 ? undefined : await cpuOf(redisPids);
  const rss = await sampler?.stop();
  const perRequest = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined || load.requests === 0 ? undefined : ((after - before) * 1000) / load.requests;
  const cpuUsPerRequest = perRequest(cpuBefore, cpuAfter);
  const redisCpuUsPerRequest = perRequest(redisBefore, redisAfter);
  return {
    load,
    ...(rss === undefined ? {} : { rss }),
    ...(cpuUsPerRequest === undefined ? {} : { cpuUsPerRequest }),
    ...(redisCpuUsPerRequest === undefined ? {} : { redisCpuUsPerRequest }),
  };
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
