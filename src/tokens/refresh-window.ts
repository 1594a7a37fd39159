/**
 * When an access token must be refreshed: `now >= exp - min(buffer, lifetime / 2)`, where
 * `lifetime = exp - obtainedAt`. The half-lifetime cap keeps short-lived tokens (a 2-minute token
 * with a 5-minute buffer) from being refreshed on every request. A token without an expiry
 * (GitHub OAuth Apps) is never due.
 */

export interface ExpiryFacts {
  /** Epoch ms; undefined when the token does not expire. */
  expiresAt?: number | undefined;
  /** Epoch ms. */
  obtainedAt: number;
}

export function refreshDueAt(tokens: ExpiryFacts, bufferMs: number): number | undefined {
  if (tokens.expiresAt === undefined) return undefined;
  const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
  return tokens.expiresAt - Math.min(bufferMs, lifetime / 2);
}

export function isRefreshDue(tokens: ExpiryFacts, now: number, bufferMs: number): boolean {
  const dueAt = refreshDueAt(tokens, bufferMs);
  return dueAt !== undefined && now >= dueAt;
}

/** True once the access token is past its expiry (never for tokens without one). */
export function isExpired(tokens: ExpiryFacts, now: number): boolean {
  return tokens.expiresAt !== undefined && now >= tokens.expiresAt;
}

/**
 * Inside the refresh window, whether a request must wait for the refresh: the token has
 * expired or has at most `marginMs` left (it could expire on its way upstream). Otherwise the
 * current token is used and the refresh runs in the background.
 */
export function mustWaitForRefresh(tokens: ExpiryFacts, now: number, marginMs: number): boolean {
  return tokens.expiresAt !== undefined && now >= tokens.expiresAt - marginMs;
}
