import type { Config } from '../config/schema.ts';
import { MemoryStore } from './memory.ts';
import { CachedStore } from './cached-store.ts';
import { InvalidationListener } from './invalidation.ts';
import { RedisStore } from './redis.ts';
import type { Store, UnreplicatedWrite } from './types.ts';

export type { Store, UnreplicatedWrite } from './types.ts';
export { MemoryStore, RedisStore, CachedStore };

export interface CreateStoreOptions {
  /** Epoch ms; defaults to Date.now. */
  now?: () => number;
  /** Redis connection-level errors, for logging (called on every failed reconnect attempt). */
  onConnectionError?: (err: Error) => void;
  /** Every sid heard on the invalidation channel (Redis with the near cache), after the cache dropped it. */
  onInvalidate?: (sid: string) => void;
  /** Redis: a token write its replicas did not confirm, or one written again after a failover lost it. */
  onUnreplicatedWrite?: (event: UnreplicatedWrite) => void;
  /** Redis: how long an unconfirmed token write is remembered for a restore (the refresh-lock lease). */
  rememberUnconfirmedMs?: number;
}

/** The store named by config. A Redis store starts connecting at once; close() it at shutdown. */
export function createStore(config: Config['store'], options: CreateStoreOptions = {}): Store {
  if (config.type === 'memory') return new MemoryStore(options.now ? { now: options.now } : {});
  const { nearCache } = config.redis;
  if (!nearCache.enabled) return new RedisStore(config.redis, options);
  const channel = invalidationChannel(config.redis.keyPrefix);
  const redis = new RedisStore(config.redis, { ...options, invalidationChannel: channel });
  let cached: CachedStore | undefined;
  const listener = new InvalidationListener({
    config: config.redis,
    channel,
    onInvalidate: (sid) => {
      cached?.cache.invalidate(sid);
      options.onInvalidate?.(sid);
    },
    onLost: () => cached?.cache.clear(),
    onConnectionError: options.onConnectionError,
  });
  cached = new CachedStore(redis, { maxEntries: nearCache.maxEntries, listener, now: options.now ?? Date.now });
  return cached;
}

/**
 * How many opened token values the keyring keeps (Keyring `openedCacheSize`): as many as the near
 * cache's sessions with Redis (none when it is off), the same default with the memory store.
 */
export function openedCacheSize(config: Config['store']): number {
  if (config.type === 'memory') return DEFAULT_OPENED_CACHE_SIZE;
  return config.redis.nearCache.enabled ? config.redis.nearCache.maxEntries : 0;
}

const DEFAULT_OPENED_CACHE_SIZE = 10_000;

/** The pub/sub channel of near-cache invalidations: under the key prefix, so deployments sharing a Redis stay apart. */
function invalidationChannel(keyPrefix: string): string {
  return `${keyPrefix}inv`;
}
