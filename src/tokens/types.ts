import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Clock } from '../clock.ts';
import type { Provider } from '../providers/types.ts';
import type { Store } from '../store/types.ts';

/** `config.tokens`: refreshBuffer, lockLease, refreshWait, expiryMargin, refreshTimeout, forcedRefreshCooldown (milliseconds). */
export type TokenConfig = Config['tokens'];

/**
 * What happened to the token of one request, for `ctx.state.refreshOutcome` and the
 * `refresh_total{outcome}` metric:
 * - none: the stored token was used as is;
 * - background: the stored token was used while a refresh runs in the background (it was due,
 *   with more than `expiryMargin` left);
 * - success: this request's refresh wrote a new token set;
 * - coalesced: another request or replica refreshed; this one used its result;
 * - transient: the provider (or the store, or a slow refresh elsewhere) failed transiently; the
 *   current token was used if still valid, else 503;
 * - invalid_grant: the provider said the grant is gone; the session was ended; 401;
 * - reuse_detected: a refresh token this replica never wrote turned up; the token set was cleared; 401;
 * - no_token_set: the session or its token set is gone (logged out, ended or cleared elsewhere);
 *   nothing was sent to the provider; 401;
 * - no_refresh_token: the token expired and the provider gave no refresh token to renew it; 401;
 * - invalid_target: the provider refused the route's resource indicator (the login's grant does
 *   not name it, e.g. the route came after the login); the session and its other tokens stay; 401;
 * - provider_mismatch: the route takes tokens from another provider than the session's and the
 *   session has no link to it; no refresh was attempted (access line only, never in
 *   `refresh_total`); 403 PROVIDER_NOT_LINKED;
 * - error: a stored token set that cannot be opened (the session was ended; 401), or a bug (500).
 *
 * Each is set where it happens: TokenService's errors carry theirs (`GatewayError.outcome`).
 */
export type RefreshOutcome =
  | 'none'
  | 'background'
  | 'success'
  | 'coalesced'
  | 'transient'
  | 'invalid_grant'
  | 'reuse_detected'
  | 'no_token_set'
  | 'no_refresh_token'
  | 'invalid_target'
  | 'provider_mismatch'
  | 'error';

/** The metric handles TokenService records to (see src/observability); all optional. */
export interface TokenMetrics {
  countRefresh?(outcome: RefreshOutcome): void;
  /** Seconds a request waited for the refresh lock or for another replica's refresh. */
  observeLockWait?(seconds: number): void;
}

export interface TokenServiceOptions {
  store: Store;
  providers: ReadonlyMap<string, Provider>;
  keyring: Keyring;
  config: TokenConfig;
  /** Epoch ms; injectable for tests. Default Date.now. */
  now?: () => number;
  /** The refresh's deadlines, lock polling and lease renewals; injectable for tests. Default the system's timers. */
  clock?: Clock;
  logger?: Logger;
  metrics?: TokenMetrics;
  /** Imported DPoP keys kept in memory (one per session in use). Default 10,000. */
  dpopKeyCacheSize?: number;
  /** Names this replica in lock owner ids. Default: a random id. */
  instanceId?: string;
}
