import { readableSession } from './codec.ts';
import type { KeyLayout } from './keys.ts';
import * as scripts from './redis-scripts.ts';
import { runScript, type RedisCommands } from './redis-scripts.ts';
import type { SessionEntry, UserSessionsPage } from './types.ts';

/** Sessions read per round (one script call each, in parallel). */
const DESCRIBE_BATCH = 50;

type ReadReply = [sess: string, pttl: number] | null;

/**
 * RedisStore.describeUserSessions: up to `limit` readable sessions of the user index set at
 * `key`, each with its remaining TTL. Index entries whose session is gone are removed from the set.
 */
export async function describeIndexedSessions(redis: RedisCommands, keys: KeyLayout, key: string, limit: number): Promise<UserSessionsPage> {
  const sids = await redis.smembers(key);
  const sessions: SessionEntry[] = [];
  const stale: string[] = [];
  let truncated = false;
  // In batches, so that a user with very many sessions costs rounds only up to the limit.
  for (let start = 0; start < sids.length && !truncated; start += DESCRIBE_BATCH) {
    const batch = sids.slice(start, start + DESCRIBE_BATCH);
    const replies = await Promise.all(batch.map((sid) => runScript(redis, scripts.readSession, [keys.session(sid).sess], []) as Promise<ReadReply>));
    replies.forEach((reply, index) => {
      if (reply === null) stale.push(batch[index]!);
      const session = reply === null ? null : readableSession(reply[0]);
      if (reply === null || session === null || truncated) return;
      if (sessions.length === limit) truncated = true;
      else sessions.push({ session, ttlMs: reply[1] });
    });
  }
  if (stale.length > 0) await redis.srem(key, ...stale);
  return { sessions, truncated };
}
