import type { Logger } from 'pino';
import { ReauthenticationRequiredError } from '../errors.ts';
import { securityEvent } from '../observability/index.ts';
import type { Store } from '../store/types.ts';

/**
 * A stored token set that cannot be opened (sealed under a key no longer in the keyring, or
 * altered) will never open: every request would fail the same way. The session is ended, a
 * `session_data_corrupt` security event is logged, and the request answers 401 so the user logs
 * in again. A store that cannot be reached while ending it stays 503 STORE_UNAVAILABLE (the
 * destroy rejects) and the next request tries again.
 */

export interface CorruptSessionDeps {
  store: Store;
  logger: Logger | undefined;
  /** Short hash of a sid for log lines. */
  tag: (sid: string) => string;
}

/** Ends the session; resolves with the error the request should answer. */
export async function endCorruptSession(deps: CorruptSessionDeps, sid: string, providerId: string | undefined): Promise<ReauthenticationRequiredError> {
  await deps.store.destroySession(sid);
  if (deps.logger !== undefined) {
    securityEvent(deps.logger, 'session_data_corrupt', {
      ...(providerId === undefined ? {} : { provider: providerId }),
      session: deps.tag(sid),
      reason: 'the token set could not be opened',
    });
  }
  return new ReauthenticationRequiredError(undefined, { outcome: 'error' });
}
