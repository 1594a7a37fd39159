import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { GatewayState } from '../http/state.ts';
import type { BearerToken, TokenService } from '../tokens/index.ts';
import type { ReplayResult } from './replay.ts';
import type { RouteMatch } from './route-table.ts';

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
  logger?: Logger;
  metrics?: ProxyMetrics;
}

/** What the proxy's own steps leave on `ctx.state`, on top of the gateway's. */
export interface ProxyState extends Partial<GatewayState> {
  match?: RouteMatch;
  /** The token to attach; absent for public routes and anonymous optional ones. */
  bearer?: BearerToken;
}
