import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisConfig } from '../config/schema.ts';

/**
 * Builds the ioredis client for a RedisConfig (standalone URL, Sentinel or Cluster) with the
 * failure behaviour the store relies on:
 * - every command times out after `commandTimeout`;
 * - commands queue while disconnected only if `maxOfflineQueue` > 0 (the store bounds the
 *   queue itself), and are flushed with an error at the first failed reconnect attempt after
 *   the one that queued them (`maxRetriesPerRequest: 1`);
 * - a command in flight when the connection drops is failed, never replayed: a replayed
 *   compare-and-set could answer "stale" to the caller whose write actually won;
 * - reconnection never stops, with capped exponential backoff;
 * - commands issued in the same turn of the event loop go out in one write (auto-pipelining):
 *   under load, one socket write and one read for many requests' session loads instead of one
 *   each. Each command keeps its own timeout, reply and error (a NOSCRIPT still reaches
 *   runScript's fallback), and in Cluster mode commands are grouped per node.
 * - in Cluster mode the slot map is refreshed every SLOTS_REFRESH_INTERVAL_MS: ioredis otherwise
 *   refreshes it only on a MOVED or CLUSTERDOWN reply or a "Connection is closed" error, and
 *   after a master fails over, commands for its slots go to its dead address and fail (refused,
 *   queue flushed, timed out) without any of those, for good;
 * The client connects at once; the caller must attach an `error` listener (RedisStore does).
 */

export type RedisClient = Redis | Cluster;

const BACKOFF_BASE_MS = 50;
/** One CLUSTER SLOTS a second per process: a failed-over master's slots answer again within it. */
export const SLOTS_REFRESH_INTERVAL_MS = 1000;
const BACKOFF_CAP_MS = 1000;

/** Reconnect delay for attempt `times` (1-based): 50, 100, 200, ... ms, capped at 1 s, plus jitter. */
export function reconnectDelay(times: number): number {
  const exponential = BACKOFF_BASE_MS * 2 ** Math.min(Math.max(times - 1, 0), 10);
  return Math.min(exponential, BACKOFF_CAP_MS) + Math.floor(Math.random() * BACKOFF_BASE_MS);
}

function connectionOptions(config: RedisConfig, connectionName = 'tokengate'): RedisOptions {
  const options: RedisOptions = {
    connectTimeout: config.connectTimeout,
    commandTimeout: config.commandTimeout,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    connectionName,
    enableAutoPipelining: true,
  };
  if (config.username !== undefined) options.username = config.username;
  if (config.password !== undefined) options.password = config.password;
  if (config.tls || config.url?.startsWith('rediss://')) options.tls = {};
  return options;
}

/**
 * Options of the near cache's subscriber connection (invalidation.ts): the same address, auth
 * and timeouts, but nothing queues while it is down and nothing is resubscribed behind the
 * listener's back (it subscribes itself, so that it knows when invalidations flow again).
 */
export function subscriberOptions(config: RedisConfig): RedisOptions {
  return { ...connectionOptions(config), connectionName: 'tokengate-invalidation', enableAutoPipelining: false, enableOfflineQueue: false, autoResubscribe: false };
}

/** `connectionName`: how the connections show in CLIENT LIST (`tokengate-writes`: replicated-writes.ts). */
export function createRedisClient(config: RedisConfig, connectionName = 'tokengate'): RedisClient {
  const enableOfflineQueue = config.maxOfflineQueue > 0;
  if (config.cluster) {
    return new Cluster(config.cluster.nodes, {
      enableOfflineQueue,
      enableAutoPipelining: true,
      clusterRetryStrategy: reconnectDelay,
      clusterNodeRetryStrategy: reconnectDelay,
      slotsRefreshTimeout: config.connectTimeout,
      slotsRefreshInterval: SLOTS_REFRESH_INTERVAL_MS,
      redisOptions: connectionOptions(config, connectionName),
    });
  }
  if (config.sentinel) {
    return new Redis({
      ...connectionOptions(config, connectionName),
      enableOfflineQueue,
      retryStrategy: reconnectDelay,
      sentinels: config.sentinel.sentinels,
      name: config.sentinel.name,
      ...(config.sentinel.sentinelPassword === undefined ? {} : { sentinelPassword: config.sentinel.sentinelPassword }),
      sentinelRetryStrategy: reconnectDelay,
      sentinelCommandTimeout: config.commandTimeout,
      enableTLSForSentinelMode: config.tls,
    });
  }
  if (config.url === undefined) throw new TypeError('a Redis store needs one of url, sentinel or cluster');
  return new Redis(config.url, { ...connectionOptions(config, connectionName), enableOfflineQueue, retryStrategy: reconnectDelay });
}
