import { z } from 'zod';
import { hideSecrets } from '../secret.ts';
import { duration, optionalDuration, port, secret } from './schema-fields.ts';
import { redisDbProblem } from './url-rules.ts';

/** The `store` part of the configuration schema (see schema.ts). */

const redisNode = z.object({ host: z.string().min(1), port }).strict();

const redisSchema = z
  .object({
    /** Standalone Redis: `redis://[user:pass@]host:port/db` or `rediss://...`. */
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .superRefine((value, ctx) => {
        const problem = redisDbProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    sentinel: z
      .object({
        sentinels: z.array(redisNode).min(1),
        name: z.string().min(1),
        sentinelPassword: secret.optional(),
      })
      .strict()
      .transform((sentinel) => hideSecrets(sentinel, ['sentinels', 'name']))
      .optional(),
    cluster: z.object({ nodes: z.array(redisNode).min(1) }).strict().optional(),
    username: z.string().optional(),
    password: secret.optional(),
    tls: z.boolean().default(false),
    keyPrefix: z.string().regex(/^[A-Za-z0-9:_-]*$/, 'keyPrefix may hold letters, digits, :, _ and -').default('tg:'),
    /** Every store call fails with STORE_UNAVAILABLE after this long. */
    commandTimeout: duration('1s'),
    connectTimeout: duration('1s'),
    /** Commands queued while disconnected; past this they fail at once. */
    maxOfflineQueue: z.number().int().min(0).default(1000),
    /** Recently used sessions kept in each replica's memory, invalidated through Redis pub/sub. */
    nearCache: z
      .object({
        enabled: z.boolean().default(true),
        /** Sessions kept per replica (least recently used go first). */
        maxEntries: z.number().int().min(1).max(1_000_000).default(10_000),
      })
      .strict()
      .prefault({}),
    /**
     * After a token write, wait (Redis WAIT) until this many replicas of the key's master have it,
     * at most `timeout`, before the write counts as done: a failover then cannot bring back a
     * refresh token the provider already rotated. `replicas` defaults to 1 with sentinel or
     * cluster and 0 (off) with url; a master with no replica connected is not waited for.
     */
    replicationWait: z
      .object({
        replicas: z.number().int().min(0).max(16).optional(),
        /** Default: 500 ms, or half of `commandTimeout` when that is shorter. */
        timeout: optionalDuration(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((redis, ctx) => {
    const modes = [redis.url, redis.sentinel, redis.cluster].filter((mode) => mode !== undefined).length;
    if (modes !== 1) ctx.addIssue({ code: 'custom', message: 'set exactly one of url, sentinel or cluster' });
    const waitTimeout = redis.replicationWait.timeout;
    if (waitTimeout !== undefined && (waitTimeout < 1 || waitTimeout >= redis.commandTimeout)) {
      ctx.addIssue({ code: 'custom', path: ['replicationWait', 'timeout'], message: 'must be at least 1ms and less than commandTimeout' });
    }
  })
  // Printed without `url` (it may carry a password) and the passwords.
  .transform((redis) => hideSecrets(redis, ['sentinel', 'cluster', 'username', 'tls', 'keyPrefix', 'commandTimeout', 'connectTimeout', 'maxOfflineQueue', 'nearCache', 'replicationWait']));

export const storeSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('memory') }).strict(),
  z.object({ type: z.literal('redis'), redis: redisSchema }).strict(),
]);
