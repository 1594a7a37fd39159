import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { TokenService } from '../tokens/index.ts';
import type { ReplayResult } from './replay.ts';

/** The metric handles the proxy records to (see src/observability); all optional. */
export interface ProxyMetrics {
  /** Time to the upstream's response head, by route prefix and status. */
  observeUpstream?(route: string, status: number, seconds: number): void;
  /** What the replay-once logic did after an upstream 401, by route prefix. */
  countReplay?(route: string, result: ReplayResult): void;
}

export interface ProxyOptions {
  config: Config;
  tokens: TokenService;
  logger: Logger;
  metrics?: ProxyMetrics;
}
