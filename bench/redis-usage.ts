import { commandDelta, readsBetween, type BenchRedis, type RedisCounters } from './redis.ts';
import type { RedisResult } from './results.ts';
import type { RowTarget } from './rows.ts';
import { sequentialRequests } from './session.ts';

/**
 * Redis cost per steady-state request of row (c): commands, from `INFO commandstats` before and
 * after the measured load divided by the requests served; round trips, from the read events
 * Redis processed during `probeRequests` requests sent one after another (with one request in
 * flight, every round trip is its own read event; a pipeline or a script is one).
 */
export async function redisPerRequest(
  redis: BenchRedis,
  target: RowTarget,
  duringLoad: { before: RedisCounters; after: RedisCounters; requests: number } | undefined,
  probeRequests: number,
): Promise<RedisResult> {
  if (duringLoad === undefined) throw new Error('row (c) did not count Redis commands');
  const commands = commandDelta(duringLoad.before, duringLoad.after);
  const total = Object.values(commands).reduce((sum, calls) => sum + calls, 0);

  const before = await redis.counters();
  const ok = await sequentialRequests(target.url, target.headers ?? {}, probeRequests);
  const after = await redis.counters();
  if (ok !== probeRequests) throw new Error(`${probeRequests - ok} of the ${probeRequests} sequential requests failed`);

  return {
    requests: duringLoad.requests,
    commands,
    commandsPerRequest: total / Math.max(1, duringLoad.requests),
    probeRequests,
    roundTripsPerRequest: readsBetween(before, after) / probeRequests,
  };
}
