import { randomBytes } from 'node:crypto';
import type { RedisConfig } from '../../src/config/schema.ts';

/** A RedisConfig as the schema would produce it, with the schema's defaults. */
export function redisConfig(overrides: Partial<RedisConfig> = {}): RedisConfig {
  return {
    tls: false,
    keyPrefix: 'tg:',
    commandTimeout: 1000,
    connectTimeout: 1000,
    maxOfflineQueue: 1000,
    ...overrides,
  };
}

/** A prefix of its own for a suite that shares a server it did not start (REDIS_URL). */
export function uniquePrefix(): string {
  return `tg-test-${randomBytes(4).toString('hex')}:`;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
