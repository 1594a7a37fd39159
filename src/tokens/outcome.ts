import { GatewayError, StoreUnavailableError } from '../errors.ts';
import type { RefreshOutcome } from './types.ts';

/**
 * The outcome a TokenService error carries (set where it was thrown). Two kinds of error come
 * from below the token logic and carry none: the store's outage (transient: the session stays)
 * and anything unplanned (a bug: error).
 */
export function refreshOutcomeOf(err: unknown): RefreshOutcome {
  if (err instanceof GatewayError && err.outcome !== undefined) return err.outcome;
  return err instanceof StoreUnavailableError ? 'transient' : 'error';
}
