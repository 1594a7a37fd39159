import type { Logger } from 'pino';
import { CorruptRecordError, GatewayError, StoreUnavailableError } from '../errors.ts';
import { securityEvent, sessionTag } from '../observability/index.ts';
import type { SessionRecord, Store, StoredTokenSet } from '../store/types.ts';
import { isSessionId } from './session-id.ts';
import type { CookieRead } from './signed-cookie.ts';

/**
 * From a read session cookie to the session and its token set, in one store round trip
 * (`loadSession` also slides the idle TTL). The rules every way in shares (Koa requests,
 * forward-auth, WebSocket upgrades):
 *
 * - no cookie: `absent`;
 * - unsigned, or a signature that fails: `forged`, and the store is never asked;
 * - a well-signed sid that is malformed, unknown, for another sid, or past its absolute expiry:
 *   `ended` (the cookie is stale);
 * - a session record or token set that the store returned but that cannot be read: the session
 *   is destroyed and the lookup is `corrupt` (the caller logs a security event; the user logs
 *   in again). Corrupt data is not an outage: it would fail the same way forever;
 * - the store failing (the read, or destroying a corrupt session): 503 STORE_UNAVAILABLE, never
 *   "no session" (invariant 5).
 */

export type SessionLookup =
  | { status: 'absent' }
  | { status: 'forged' }
  | { status: 'ended' }
  | { status: 'corrupt'; sid: string }
  | { status: 'loaded'; sid: string; session: SessionRecord; tokens: StoredTokenSet | null; signedWithOldKey: boolean };

export interface LookupDeps {
  store: Store;
  idleTimeoutMs: number;
  now: () => number;
}

export async function lookupSession(read: CookieRead, deps: LookupDeps): Promise<SessionLookup> {
  if (read.status !== 'valid') return read;
  const sid = read.value;
  if (!isSessionId(sid)) return { status: 'ended' };
  let bundle;
  try {
    bundle = await storeCall(() => deps.store.loadSession(sid, deps.idleTimeoutMs));
  } catch (err) {
    if (!(err instanceof CorruptRecordError)) throw err;
    await storeCall(() => deps.store.destroySession(sid));
    return { status: 'corrupt', sid };
  }
  if (bundle === null || bundle.session.sid !== sid || bundle.session.absoluteExpiresAt <= deps.now()) return { status: 'ended' };
  return { status: 'loaded', sid, session: bundle.session, tokens: bundle.tokens, signedWithOldKey: read.signedWithOldKey };
}

/**
 * A store call whose failure never reads as "no session": the contract already rejects with
 * StoreUnavailableError (or CorruptRecordError); anything else becomes StoreUnavailableError.
 */
async function storeCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof GatewayError ? err : new StoreUnavailableError(undefined, { cause: err });
  }
}

/**
 * The security event of a session whose stored record could not be read (lookupSession ended
 * it): one place for every way in (Koa requests, proxied routes, WebSocket upgrades), naming
 * the session by its tag.
 */
export function reportCorruptSession(logger: Pick<Logger, 'warn'>, sid: string): void {
  securityEvent(logger, 'session_data_corrupt', { session: sessionTag(sid), reason: 'the stored session could not be read' });
}
