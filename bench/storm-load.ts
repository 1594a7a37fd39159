import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { summarize, type LatencySummary } from './latency.ts';

/**
 * The load side of the refresh storm: N requests started in the same tick, split round-robin
 * over several gateway instances. Connections are opened beforehand (`warm`, on a path that
 * touches no token), so the storm's latency is the gateway's, not TCP setup's.
 */
export interface StormOutcome {
  statuses: Record<string, number>;
  latency: LatencySummary;
}

const REQUEST_TIMEOUT_MS = 15_000;

export class StormClient {
  readonly #targets: { origin: URL; agent: Agent }[];

  constructor(origins: readonly string[], connectionsPerOrigin: number) {
    this.#targets = origins.map((origin) => ({
      origin: new URL(origin),
      agent: new Agent({ keepAlive: true, maxSockets: connectionsPerOrigin, maxFreeSockets: connectionsPerOrigin, keepAliveMsecs: 30_000 }),
    }));
  }

  /** Opens `perOrigin` keep-alive connections to every origin with concurrent requests to `path`. */
  async warm(path: string, perOrigin: number): Promise<void> {
    const all = this.#targets.flatMap((target) => Array.from({ length: perOrigin }, () => send(target, path, {})));
    await Promise.all(all);
  }

  /** Starts `count` requests at once, round-robin over the origins, and waits for all of them. */
  async fire(path: string, headers: Record<string, string>, count: number): Promise<StormOutcome> {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => send(this.#targets[i % this.#targets.length]!, path, headers)));
    const statuses: Record<string, number> = {};
    for (const result of results) statuses[result.status] = (statuses[result.status] ?? 0) + 1;
    return { statuses, latency: summarize(results.map((result) => result.ms)) };
  }

  close(): void {
    for (const target of this.#targets) target.agent.destroy();
  }
}

function send(target: { origin: URL; agent: Agent }, path: string, headers: Record<string, string>): Promise<{ status: string; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: target.origin.hostname, port: target.origin.port, path, agent: target.agent, headers, timeout: REQUEST_TIMEOUT_MS },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: String(res.statusCode), ms: performance.now() - started }));
        res.on('error', () => resolve({ status: 'error', ms: performance.now() - started }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 'error', ms: performance.now() - started }));
    req.end();
  });
}
