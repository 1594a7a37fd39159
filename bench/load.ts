import { createRequire } from 'node:module';
import { LatencyRecorder, type LatencySummary } from './latency.ts';

/**
 * The load generator: autocannon, driven programmatically in this process (the servers under
 * test run in their own processes). Every run is bounded by `durationS`. Latency comes from each
 * response's own high-resolution time, not from autocannon's whole-millisecond histogram.
 */
export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  headers?: Record<string, string>;
  /** Fixed request rate over all connections (requests per second); default: as fast as it goes. */
  overallRate?: number;
}

export interface LoadResult {
  /** Completed requests per second over the run. */
  rps: number;
  requests: number;
  /** Responses with a status outside 2xx. */
  non2xx: number;
  /** Connection errors and timeouts. */
  errors: number;
  durationS: number;
  latency: LatencySummary;
}

interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
}

interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  on(event: 'done', listener: (result: AutocannonResult) => void): void;
  on(event: 'error', listener: (err: Error) => void): void;
}

type Autocannon = (options: Record<string, unknown>, callback: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  // autocannon ships CommonJS without types; the two shapes above are all this file relies on.
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const latencies = new LatencyRecorder();
  let completed = 0;
  let non2xx = 0;
  const result = await new Promise<AutocannonResult>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        duration: options.durationS,
        headers: options.headers ?? {},
        ...(options.overallRate === undefined ? {} : { overallRate: Math.max(1, Math.round(options.overallRate)) }),
        timeout: 10,
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      completed += 1;
      if (status >= 200 && status < 300) latencies.record(ms);
      else non2xx += 1;
    });
  });
  return {
    rps: completed / result.duration,
    requests: completed,
    non2xx,
    errors: result.errors + result.timeouts,
    durationS: result.duration,
    latency: latencies.summary(),
  };
}
