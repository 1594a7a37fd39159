import { createHash, timingSafeEqual } from 'node:crypto';

/** Constant-time equality of two strings of any length. */
export function sameText(a: string, b: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
