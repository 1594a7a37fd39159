import { hash } from 'node:crypto';

/**
 * A short, stable name for a session in logs and security events: the first 12 hex digits of
 * sha256(sid). The same session always gets the same tag, so its log lines can be followed; the
 * sid itself (a bearer credential for the session) never appears.
 */
export function sessionTag(sid: string): string {
  // One-shot hash(): no Hash object per call (it runs on every request).
  return hash('sha256', sid, 'hex').slice(0, 12);
}
