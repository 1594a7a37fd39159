import { Agent, request, type ClientRequest } from 'node:http';
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from './latency.ts';
import type { LoadResult } from './load.ts';

/**
 * An open-loop load at a fixed rate: request i is due at start + i / rate, and requests go out
 * evenly through the run instead of in bursts. (autocannon's rate limit sends each second's
 * quota as fast as it can and then idles, which measures a burst, not a steady 50% load.)
 * Latency is measured from the moment a request is handed to the client (including any wait for
 * a free connection), not from its due time, so the generator's own 1 ms timer slop stays out.
 * Bounded: no request starts after `durationS`, and whatever is still unanswered 5 s later is
 * abandoned and counted as an error (a server that cannot keep up with the rate shows that way).
 */
export interface PacedOptions {
  url: string;
  rate: number;
  durationS: number;
  connections: number;
  headers?: Record<string, string>;
  /** Return every latency sample too (for pooling several runs). */
  keepSamples?: boolean;
}

export interface PacedResult extends LoadResult {
  /** Every 2xx latency, ms (empty unless `keepSamples`). */
  samples: number[];
}

const TICK_MS = 1;
const DRAIN_MS = 5_000;

export async function runPaced(options: PacedOptions): Promise<PacedResult> {
  const target = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections, maxFreeSockets: options.connections });
  const latencies = new LatencyRecorder();
  let issued = 0;
  let completed = 0;
  let non2xx = 0;
  let errors = 0;
  let inFlight = 0;
  const start = performance.now();
  const endAt = start + options.durationS * 1000;
  const total = Math.floor(options.rate * options.durationS);

  const outstanding = new Set<ClientRequest>();
  const send = (onDone: () => void) => {
    inFlight += 1;
    const sentAt = performance.now();
    let finished = false;
    const finish = (ok: boolean, status: number) => {
      if (finished) return;
      finished = true;
      outstanding.delete(req);
      inFlight -= 1;
      completed += 1;
      if (!ok) errors += 1;
      else if (status >= 200 && status < 300) latencies.record(performance.now() - sentAt);
      else non2xx += 1;
      onDone();
    };
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, agent, headers: options.headers ?? {} },
      (res) => {
        res.resume();
        res.on('end', () => finish(true, res.statusCode ?? 0));
        res.on('error', () => finish(false, 0));
      },
    );
    req.on('error', () => finish(false, 0));
    outstanding.add(req);
    req.end();
  };

  await new Promise<void>((resolve) => {
    let ticking = true;
    let drain: NodeJS.Timeout | undefined;
    const maybeResolve = () => {
      if (ticking || inFlight > 0) return;
      clearTimeout(drain);
      resolve();
    };
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * options.rate));
      while (issued < due) {
        issued += 1;
        send(maybeResolve);
      }
      if (issued >= total || now >= endAt) {
        ticking = false;
        drain = setTimeout(() => {
          for (const req of outstanding) req.destroy(new Error('not answered in time'));
        }, DRAIN_MS);
        maybeResolve();
      } else {
        setTimeout(tick, TICK_MS);
      }
    };
    tick();
  });
  const elapsedS = (performance.now() - start) / 1000;
  agent.destroy();
  return {
    rps: (completed - errors) / elapsedS,
    requests: completed,
    non2xx,
    errors,
    durationS: elapsedS,
    latency: latencies.summary(),
    samples: options.keepSamples ? latencies.samples() : [],
  };
}
