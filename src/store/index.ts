import type { Config } from '../config/schema.ts';
import { MemoryStore } from './memory.ts';
import { RedisStore } from './redis.ts';
import type { Store } from './types.ts';

export type { CompareAndSetResult, SessionBundle, SessionEntry, SessionRecord, Store, StoredTokenSet, UserSessionsPage } from './types.ts';
export { MemoryStore, type MemoryStoreOptions } from './memory.ts';
export { RedisStore, type RedisStoreOptions } from './redis.ts';

export interface CreateStoreOptions {
  /** Epoch ms; defaults to Date.now. */
  now?: () => number;
  /** Redis connection-level errors, for logging (called on every failed reconnect attempt). */
  onConnectionError?: (err: Error) => void;
}

/** The store named by config. A Redis store starts connecting at once; close() it at shutdown. */
export function createStore(config: Config['store'], options: CreateStoreOptions = {}): Store {
  if (config.type === 'memory') return new MemoryStore(options.now ? { now: options.now } : {});
  return new RedisStore(config.redis, options);
}
