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
 * Every script that changes or deletes a session's keys announces it: ARGV ends with `channel,
 * sid`, and when channel is not empty the sid is PUBLISHed there in the same atomic step (the
 * near caches of other replicas drop it; see invalidation.ts). An empty channel publishes nothing.
 */
const ANNOUNCE = `local function announce(at)
  if ARGV[at] ~= '' then redis.call('PUBLISH', ARGV[at], ARGV[at + 1]) end
end
`;

/**
 * KEYS sess, tok, lock; ARGV ttlMs, now, channel, sid.
 * Slides sess and tok to min(ttl, absoluteExpiresAt - now) and returns [sess, tok]; a session
 * past its absolute expiry is deleted (and announced). Nil when there is no session. A session
 * record that is not readable JSON with an `absoluteExpiresAt` comes back as it is, unslid: the
 * caller's decode reports it as corrupt (never an error reply, which would read as an outage).
 */
export const slideSession = script(
  3,
  `${ANNOUNCE}local sess = redis.call('GET', KEYS[1])
if not sess then return false end
local ok, decoded = pcall(cjson.decode, sess)
local absolute = ok and type(decoded) == 'table' and tonumber(decoded['absoluteExpiresAt'])
if not absolute then return {sess, redis.call('GET', KEYS[2])} end
local ttl = math.floor(math.min(tonumber(ARGV[1]), absolute - tonumber(ARGV[2])))
if ttl <= 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  announce(3)
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
 * KEYS tok; ARGV expectedVer, nextJson (already carrying expectedVer + 1), channel, sid.
 * {1, SHA-1 of the value replaced} when written (TTL kept, announced); {0, current} otherwise,
 * current nil when there is no token set. A stored value that is not JSON is not overwritten and
 * comes back as it is (the caller's decode reports it as corrupt).
 */
export const compareAndSetTokens = script(
  1,
  `${ANNOUNCE}local current = redis.call('GET', KEYS[1])
if not current then return {0, false} end
local ok, decoded = pcall(cjson.decode, current)
if not ok or type(decoded) ~= 'table' or tonumber(decoded['ver']) ~= tonumber(ARGV[1]) then return {0, current} end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
announce(3)
return {1, redis.sha1hex(current)}`,
);

/**
 * KEYS tok; ARGV SHA-1 of the value a write replaced, that write's value, channel, sid.
 * Writes the value again (TTL kept, announced) only if the stored token set is exactly the one it
 * replaced, byte for byte (a failover lost the write); 1 when written.
 */
export const restoreTokens = script(
  1,
  `${ANNOUNCE}local current = redis.call('GET', KEYS[1])
if not current or redis.sha1hex(current) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
announce(3)
return 1`,
);

/** KEYS tok; ARGV expectedVer or '', channel, sid. 1 when deleted (and announced). */
export const deleteTokens = script(
  1,
  `${ANNOUNCE}local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if ARGV[1] ~= '' and tonumber(cjson.decode(current)['ver']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
announce(2)
return 1`,
);

/**
 * KEYS sess, tok, lock; ARGV channel, sid. Deletes all three (announced when anything was there);
 * returns the session record that was there.
 */
export const destroySession = script(
  3,
  `${ANNOUNCE}local sess = redis.call('GET', KEYS[1])
if redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]) > 0 then announce(1) end
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

/**
 * KEYS per-address set, total set (sorted sets of login ids scored by start time, one hash tag);
 * ARGV id, now, ttlMs, perAddress, total.
 * Drops entries older than ttl from both; if either is full, returns {0, 'address'|'total',
 * ms until its oldest entry ends}; else adds the id to both (each key lives ttl past its newest
 * entry) and returns {1}.
 */
export const admitPendingLogin = script(
  2,
  `local now = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local limits = {tonumber(ARGV[4]), tonumber(ARGV[5])}
local names = {'address', 'total'}
for i = 1, 2 do
  if redis.call('ZCARD', KEYS[i]) >= limits[i] then
    local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    return {0, names[i], math.max(1, math.ceil(tonumber(oldest[2]) + ttl - now))}
  end
end
for i = 1, 2 do
  redis.call('ZADD', KEYS[i], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return {1}`,
);
