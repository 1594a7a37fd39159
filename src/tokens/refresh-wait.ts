import { TokenServiceUnavailableError } from '../errors.ts';
import { seconds } from './provider-call.ts';

/**
 * Waits for a refresh for at most `waitMs` (`tokens.refreshWait`); past that, 503
 * TOKEN_SERVICE_UNAVAILABLE with Retry-After, while the refresh itself goes on.
 */
export async function withinRefreshWait<T>(promise: Promise<T>, waitMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TokenServiceUnavailableError('The token refresh is taking too long; try again shortly', { retryAfter: seconds(waitMs) })), waitMs);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
