import type { Logger } from 'pino';
import type { SessionRecord, StoredTokenSet } from '../store/types.ts';
import type { RefreshOutcome } from '../tokens/types.ts';

/**
 * What the middleware chain leaves on `ctx.state`, in order of who sets it:
 * - access log: `requestId`, `log`;
 * - session loading: `sid`, `session`, `tokens` (one store round trip; absent = no session);
 * - routing: `routeName` (a bounded label: a route prefix or a fixed auth endpoint name),
 *   `upstream` (origin of the upstream the request went to);
 * - the token service: `refreshOutcome`.
 */
export interface GatewayState {
  requestId: string;
  log: Logger;
  sid?: string;
  /** Short hash of the sid for logs; never the sid itself. */
  sessionTag?: string;
  session?: SessionRecord;
  tokens?: StoredTokenSet | null;
  routeName?: string;
  upstream?: string;
  refreshOutcome?: RefreshOutcome;
}
