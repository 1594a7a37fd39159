import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Metrics } from '../observability/index.ts';
import type { GatewayCookies } from '../session/cookies.ts';
import type { Store } from '../store/types.ts';
import type { TokenService } from '../tokens/index.ts';

/** What the forward-auth endpoint is built from; assembled once by the composition root. */
export interface ForwardAuthDeps {
  config: Pick<Config, 'forwardAuth' | 'publicOrigin' | 'csrf' | 'session'>;
  store: Store;
  cookies: Pick<GatewayCookies, 'session'>;
  /** The gateway's one TokenService: refreshes when due, single-flight. */
  tokens: Pick<TokenService, 'getAccessToken'>;
  logger: Logger;
  /** Request counts of the forward-auth listener (the main listener's access log counts its own). */
  metrics?: Pick<Metrics, 'countRequest'>;
  now: () => number;
}
