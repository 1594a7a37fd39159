import { randomBytes } from 'node:crypto';

/**
 * Session ids: 256 random bits, base64url (43 characters). Opaque to everyone but the store;
 * a new one is drawn at every login, so an id chosen or seen before a login is never the one
 * that becomes authenticated (no session fixation).
 */

const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

/** Random url-safe identifiers for login transactions, state, nonce and PKCE verifiers. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
