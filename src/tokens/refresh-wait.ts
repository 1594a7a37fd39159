import { TokenServiceUnavailableError } from '../errors.ts';
import type { Clock } from '../clock.ts';
import { seconds } from './provider-call.ts';

/**
 * Waits for a refresh for at most `waitMs` (`tokens.refreshWait`) on `clock`; past that, 503
 * TOKEN_SERVICE_UNAVAILABLE with Retry-After (outcome transient), while the refresh goes on.
 */
export async function withinRefreshWait<T>(promise: Promise<T>, waitMs: number, clock: Clock): Promise<T> {
  let cancel: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    cancel = clock.after(waitMs, () => reject(new TokenServiceUnavailableError('The token refresh is taking too long; try again shortly', { retryAfter: seconds(waitMs), outcome: 'transient' })));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel?.();
  }
}
