import { createHash } from 'node:crypto';
import type { RedisCommander } from 'ioredis';

/**
 * The Lua scripts behind every read-modify-write of the Redis store. Each one touches keys of a
 * single `{sid}` (or a single index key), so it runs atomically on one slot, in Cluster too.
 * Times are passed in (`now`, epoch ms) so that the store's clock is the only clock.
 */

export type RedisCommands = RedisCommander<{ type: 'default'; mapping: 'resp2' }>;

export interface LuaScript {
  readonly lua: string;
  readonly sha: string;
  readonly keyCount: number;
}

function script(keyCount: number, lua: string): LuaScript {
  return { lua, keyCount, sha: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Runs by SHA and falls back to the source once when the server does not have it cached yet
 * (fresh server, restart, failover). NOSCRIPT is the Redis error code (the first word of the
 * reply), not free text.
 */
export async function runScript(client: RedisCommands, lua: LuaScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
  if (keys.length !== lua.keyCount) throw new TypeError(`script expects ${lua.keyCount} keys`);
  try {
    return await client.evalsha(lua.sha, lua.keyCount, ...keys, ...args);
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('NOSCRIPT')) return client.eval(lua.lua, lua.keyCount, ...keys, ...args);
    throw err;
  }
}

/**
 * KEYS sess, tok, lock; ARGV ttlMs, now.
 * Slides sess and tok to min(ttl, absoluteExpiresAt - now) and returns [sess, tok]; a session
 * past its absolute expiry is deleted. Nil when there is no session. A session record that is
 * not readable JSON with an `absoluteExpiresAt` comes back as it is, unslid: the caller's decode
 * reports it as corrupt (never an error reply, which would read as an outage).
 */
export const slideSession = script(
  3,
  `local sess = redis.call('GET', KEYS[1])
if not sess then return false end
local ok, decoded = pcall(cjson.decode, sess)
local absolute = ok and type(decoded) == 'table' and tonumber(decoded['absoluteExpiresAt'])
if not absolute then return {sess, redis.call('GET', KEYS[2])} end
local ttl = math.floor(math.min(tonumber(ARGV[1]), absolute - tonumber(ARGV[2])))
if ttl <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return false
end
redis.call('PEXPIRE', KEYS[1], ttl)
local tok = redis.call('GET', KEYS[2])
if tok then redis.call('PEXPIRE', KEYS[2], ttl) end
return {sess, tok}`,
);

/** KEYS sess. [record, remaining TTL in ms] without touching the TTL; nil when there is none. */
export const readSession = script(
  1,
  `local sess = redis.call('GET', KEYS[1])
if not sess then return false end
return {sess, redis.call('PTTL', KEYS[1])}`,
);

/** KEYS sess, tok; ARGV sessJson, tokJson, ttlMs. Writes both with one TTL. */
export const createSession = script(
  2,
  `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
return 1`,
);

/**
 * KEYS tok; ARGV expectedVer, nextJson (already carrying expectedVer + 1).
 * {1} when written (TTL kept); {0, current} otherwise, current nil when there is no token set. A
 * stored value that is not JSON is not overwritten and comes back as it is (the caller's decode
 * reports it as corrupt).
 */
export const compareAndSetTokens = script(
  1,
  `local current = redis.call('GET', KEYS[1])
if not current then return {0, false} end
local ok, decoded = pcall(cjson.decode, current)
if not ok or type(decoded) ~= 'table' or tonumber(decoded['ver']) ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return {1}`,
);

/** KEYS tok; ARGV expectedVer or ''. 1 when deleted. */
export const deleteTokens = script(
  1,
  `local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if ARGV[1] ~= '' and tonumber(cjson.decode(current)['ver']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
return 1`,
);

/** KEYS sess, tok, lock. Deletes all three; returns the session record that was there. */
export const destroySession = script(
  3,
  `local sess = redis.call('GET', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return sess`,
);

/** KEYS lock; ARGV owner, leaseMs. 1 when the owner held it and the lease was extended. */
export const renewLock = script(
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
);

/** KEYS lock; ARGV owner. 1 when the owner held it and it is now free. */
export const releaseLock = script(
  1,
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
);

/** KEYS index set; ARGV sid, ttlMs. Adds the sid; the set then lives at least ttlMs. */
export const addToIndex = script(
  1,
  `redis.call('SADD', KEYS[1], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`,
);
