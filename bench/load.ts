import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LatencySummary } from './latency.ts';

/**
 * The load generator: `wrk` (C, one thread, epoll), so that generating load costs far less CPU
 * than the servers it measures on a two-core machine (a Node generator would take a core of its
 * own). Every run is bounded by `durationS` (and wrk's own 10 s request timeout). wrk reports
 * latency percentiles in microseconds from its HdrHistogram through bench/wrk/report.lua.
 */
export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
}

export interface LoadResult {
  /** Completed requests per second over the run. */
  rps: number;
  requests: number;
  /** Responses with a status over 399 (wrk counts those; a 3xx would not be one, and the rows check the upstream saw each request). */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  durationS: number;
  latency: LatencySummary;
}

const REPORT = fileURLToPath(new URL('./wrk/report.lua', import.meta.url));
/** One generator thread: the second core is for the process under test. */
const THREADS = 1;

interface WrkReport {
  requests: number;
  duration_us: number;
  connect: number;
  read: number;
  write: number;
  status: number;
  timeout: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export class WrkMissing extends Error {
  constructor() {
    super('wrk is not on PATH: the benchmark uses it as its load generator (Debian: apt-get install wrk)');
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const args = ['-t', String(THREADS), '-c', String(Math.max(THREADS, options.connections)), '-d', `${Math.max(1, Math.round(options.durationS))}s`, '--timeout', '10s', '-s', REPORT];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(options.url);
  const output = await run('wrk', args, (options.durationS + 30) * 1000);
  const line = output.split('\n').find((text) => text.startsWith('{"tokengate_wrk"'));
  if (line === undefined) throw new Error(`wrk printed no report:\n${output.slice(-500)}`);
  const report = JSON.parse(line) as WrkReport;
  const durationS = report.duration_us / 1e6;
  const ms = (us: number) => us / 1000;
  return {
    rps: report.requests / durationS,
    requests: report.requests,
    non2xx: report.status,
    errors: report.connect + report.read + report.write + report.timeout,
    durationS,
    latency: { count: report.requests - report.status, p50: ms(report.p50), p90: ms(report.p90), p99: ms(report.p99), max: ms(report.max), mean: ms(report.mean) },
  };
}

function run(command: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === 'ENOENT' ? new WrkMissing() : err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`wrk exited with ${code}: ${output.slice(-500)}`));
    });
  });
}
