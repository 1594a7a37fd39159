import { Gauge, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { RedisConfig } from '../config/schema.ts';
import { sanitizedCause } from '../store/failure.ts';
import { createRedisClient } from '../store/redis-client.ts';
import { countSealedKids, type SealedKidCount } from '../store/sealed-kids.ts';

/**
 * `tokengate_sealed_token_sets{kid}`: how many stored token sets each key id still seals (the
 * same count as `tokengate keys status`), and `tokengate_sealed_token_sets_scan_complete` (0 when
 * the last scan ran out of time). Redis only.
 *
 * A scrape answers the last counts at once and, when they are older than `intervalMs` (5
 * minutes), starts one new scan in the background on a connection of its own (SCAN with COUNT,
 * at most `timeBudgetMs`, 5 s). So the cost is at most one bounded scan per interval per
 * process, and none while nobody scrapes. Under `--workers` every worker reports the same
 * store: the primary's aggregation takes the maximum, not the sum.
 * Label values: the configured kids and at most MAX_OTHER_KIDS others, then `other`.
 */

const MAX_OTHER_KIDS = 10;

export interface SealedKidsGaugeOptions {
  registry: Registry;
  redis: RedisConfig;
  configuredKids: () => readonly string[];
  logger: Logger;
  intervalMs?: number;
  timeBudgetMs?: number;
}

export function registerSealedKidsGauge(options: SealedKidsGaugeOptions): void {
  const intervalMs = options.intervalMs ?? 5 * 60_000;
  let last: SealedKidCount | undefined;
  let lastAt = -Infinity;
  let running = false;

  const scan = async () => {
    running = true;
    const client = createRedisClient(options.redis);
    client.on('error', () => undefined);
    try {
      last = await countSealedKids(client, { keyPrefix: options.redis.keyPrefix, timeBudgetMs: options.timeBudgetMs ?? 5_000 });
      lastAt = performance.now();
    } catch (err) {
      // Try again at the next scrape after the interval, not at every scrape.
      lastAt = performance.now();
      options.logger.warn({ event: 'sealed_scan_failed', cause: sanitizedCause(err).message }, 'could not count the token sets per key id');
    } finally {
      client.disconnect();
      running = false;
    }
  };

  const complete = new Gauge({
    name: 'tokengate_sealed_token_sets_scan_complete',
    help: '1 when the last count of token sets per key id scanned the whole store, 0 when it ran out of time',
    registers: [options.registry],
    aggregator: 'min',
    collect() {
      if (last !== undefined) this.set(last.complete ? 1 : 0);
    },
  });
  void complete;
  new Gauge({
    name: 'tokengate_sealed_token_sets',
    help: 'Stored token sets with a field sealed under each encryption key id (a key whose count is 0 can be removed)',
    labelNames: ['kid'],
    registers: [options.registry],
    aggregator: 'max',
    collect() {
      if (!running && performance.now() - lastAt >= intervalMs) void scan();
      if (last === undefined) return;
      this.reset();
      const configured = options.configuredKids();
      for (const kid of configured) this.set({ kid }, last.counts.get(kid) ?? 0);
      let others = 0;
      let overflow = 0;
      for (const [kid, count] of last.counts) {
        if (configured.includes(kid)) continue;
        if (others < MAX_OTHER_KIDS) {
          others += 1;
          this.set({ kid }, count);
        } else overflow += count;
      }
      if (overflow > 0) this.set({ kid: 'other' }, overflow);
    },
  });
}
