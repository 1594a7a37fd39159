import { Agent, request } from 'node:http';
import type { ScenarioResult } from './scenarios.ts';

/** Proxied routes ask for the CSRF header on every method (an SPA's API calls send it). */
export const CSRF = { 'x-csrf': '1' } as const;

/**
 * The chaos load: `concurrency` loops sending GETs one after another on keep-alive connections
 * until `until` resolves or `maxMs` passes (whichever first), every request accounted for: its
 * start time, duration and status (or error code). Bounded in count (`maxRequests`) and time.
 */

export interface Sample {
  /** performance.now() at the start. */
  at: number;
  ms: number;
  /** HTTP status, or the error code ('ECONNRESET', 'timeout', ...). */
  outcome: number | string;
}

export interface LoadOptions {
  /** A URL for the `n`th request (spread over sessions and paths). */
  target: (n: number) => { url: string; cookie?: string };
  concurrency: number;
  maxMs: number;
  maxRequests?: number;
  timeoutMs?: number;
  until?: Promise<unknown>;
}

export async function runLoad(options: LoadOptions): Promise<Sample[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const samples: Sample[] = [];
  const end = performance.now() + options.maxMs;
  const maxRequests = options.maxRequests ?? 200_000;
  let stopped = false;
  void options.until?.then(() => (stopped = true));
  let sent = 0;
  const one = (n: number) =>
    new Promise<void>((resolve) => {
      const { url, cookie } = options.target(n);
      const at = performance.now();
      const done = (outcome: number | string) => {
        samples.push({ at, ms: performance.now() - at, outcome });
        resolve();
      };
      const req = request(url, { agent, timeout: options.timeoutMs ?? 10_000, headers: cookie ? { cookie, ...CSRF } : CSRF }, (res) => {
        res.resume();
        res.on('end', () => done(res.statusCode ?? 0));
        res.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? 'error'));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      req.on('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
      req.end();
    });
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (!stopped && performance.now() < end && sent < maxRequests) {
        const n = sent++;
        await one(n);
        // A refused connection means nothing listens: do not spin on it.
        if (samples.at(-1)?.outcome === 'ECONNREFUSED') await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
  );
  agent.destroy();
  return samples;
}

/** Counts of every outcome that is not `ok`, keyed by status or error code. */
export function errorsBy(samples: readonly Sample[], ok: (outcome: number | string) => boolean): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const sample of samples) if (!ok(sample.outcome)) counts[String(sample.outcome)] = (counts[String(sample.outcome)] ?? 0) + 1;
  return counts;
}

/** From `faultAt` to the end of the last failed request (0 when none failed after it). */
export function recoveryMs(samples: readonly Sample[], ok: (outcome: number | string) => boolean, faultAt: number): number {
  let last = faultAt;
  for (const sample of samples) if (!ok(sample.outcome) && sample.at >= faultAt - 50) last = Math.max(last, sample.at + sample.ms);
  return Math.round(last - faultAt);
}

/** A scenario's row: requests, errors by outcome and the longest request from `samples`; the rest from `extra`. */
export function summary(name: string, samples: Sample[], ok: (outcome: number | string) => boolean, extra: Partial<ScenarioResult>): ScenarioResult {
  return {
    scenario: name,
    requests: samples.length,
    errors: errorsBy(samples, ok),
    longestMs: Math.round(samples.reduce((longest, sample) => Math.max(longest, sample.ms), 0)),
    recoverMs: null,
    sessionsLost: null,
    refreshReused: null,
    rssSlopeMbPerMin: null,
    notes: '',
    ...extra,
  };
}
