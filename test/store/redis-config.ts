import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../../src/config/schema.ts';

/** A RedisConfig as the schema would produce it, with the schema's defaults. */
export function redisConfig(overrides: Partial<RedisConfig> = {}): RedisConfig {
  return {
    tls: false,
    keyPrefix: 'tg:',
    commandTimeout: 1000,
    connectTimeout: 1000,
    maxOfflineQueue: 1000,
    nearCache: { enabled: true, maxEntries: 10_000 },
    replicationWait: { timeout: 500 },
    ...overrides,
  };
}

/** A prefix of its own for a suite that shares a server it did not start (REDIS_URL). */
export function uniquePrefix(): string {
  return `tg-test-${randomBytes(4).toString('hex')}:`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Removes every key under `prefix` (for suites run against a shared REDIS_URL server). */
export async function deleteKeys(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    await redis.quit();
  }
}
