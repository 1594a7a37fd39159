import { BadRequestError } from '../errors.ts';
import { MAX_PARAM_LENGTH } from './params.ts';

/**
 * `returnTo` and post-logout redirect paths are same-origin relative paths (DESIGN.md
 * invariant 9). The rule applies to the value that is emitted, not the raw one: the raw value is
 * resolved against the public origin exactly as a browser would, re-serialised as
 * `pathname + search + hash`, and that final form must
 *
 * - start with a single `/` (never `//`, which a browser reads as another host),
 * - hold no backslash, whitespace or control character (browsers read `/\host` as `//host` and
 *   drop tabs and newlines),
 * - not percent-decode to something starting with `//`, holding a backslash, or resolving to
 *   `//host` (`/%2e%2e%2f%2fhost`), for front ends that decode before navigating,
 * - resolve against the public origin to that origin, and to itself again (a fixed point: what
 *   the continue page emits is what the browser ends on).
 *
 * The raw value must itself be a local path (same first checks), so `https://...` or
 * `javascript:` never get as far as the parser. Dot segments are the reason the final form
 * matters: `/a/..//evil.example`, `/.//x` and `/%2e%2e//x` are local paths whose resolution
 * is `//evil.example` and `//x`.
 */

const UNSAFE_CHARACTERS = /[\\\s\u0000-\u001f\u007f]/;

/** The emitted form of a same-origin path, or undefined when it is not one. */
export function sameOriginPath(raw: string, publicOrigin: string): string | undefined {
  if (raw.length > MAX_PARAM_LENGTH || !isLocalPath(raw)) return undefined;
  const emitted = resolvedPath(raw, publicOrigin);
  if (emitted === undefined || !isLocalPath(emitted) || !decodesSafely(emitted, publicOrigin)) return undefined;
  if (resolvedPath(emitted, publicOrigin) !== emitted) return undefined;
  return emitted;
}

export function safeReturnTo(raw: string | undefined, publicOrigin: string): string {
  if (raw === undefined || raw === '') return '/';
  const emitted = sameOriginPath(raw, publicOrigin);
  if (emitted === undefined) throw new BadRequestError('returnTo must be a path on this site');
  return emitted;
}

function resolvedPath(path: string, publicOrigin: string): string | undefined {
  if (!URL.canParse(path, publicOrigin)) return undefined;
  const url = new URL(path, publicOrigin);
  if (url.origin !== publicOrigin) return undefined;
  return `${url.pathname}${url.search}${url.hash}`;
}

function isLocalPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !UNSAFE_CHARACTERS.test(path);
}

/** Percent-decoded (as a front end might before navigating), it still resolves to a local path. */
function decodesSafely(path: string, publicOrigin: string): boolean {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return false;
  }
  if (decoded.startsWith('//') || decoded.includes('\\')) return false;
  const resolved = resolvedPath(decoded, publicOrigin);
  return resolved !== undefined && !resolved.startsWith('//');
}
