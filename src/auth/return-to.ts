import { BadRequestError } from '../errors.ts';
import { MAX_PARAM_LENGTH } from './params.ts';

/**
 * `returnTo` is a same-origin relative path (DESIGN.md invariant 9). Refused with 400:
 * anything not starting with a single `/` (`//host`, `https://...`, `javascript:...`), any
 * backslash (browsers read `/\host` as `//host`), control characters and whitespace (the URL
 * parser drops tabs and newlines, turning `/\t/host` into `//host`), and any value whose
 * percent-decoding would begin with `//` or hold a backslash (`/%2F%2Fhost`), for the sake of
 * front ends that decode before navigating. The result is re-serialised from the parsed URL
 * and checked to stay on the public origin.
 */

const UNSAFE_CHARACTERS = /[\\\s\u0000-\u001f\u007f]/;

export function safeReturnTo(raw: string | undefined, publicOrigin: string): string {
  if (raw === undefined || raw === '') return '/';
  if (raw.length > MAX_PARAM_LENGTH || !isLocalPath(raw)) throw refused();
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw refused();
  }
  if (decoded.startsWith('//') || decoded.includes('\\')) throw refused();
  const url = new URL(raw, publicOrigin);
  if (url.origin !== publicOrigin) throw refused();
  return `${url.pathname}${url.search}${url.hash}`;
}

function isLocalPath(path: string): boolean {
  return path.startsWith('/') && !path.startsWith('//') && !UNSAFE_CHARACTERS.test(path);
}

function refused(): BadRequestError {
  return new BadRequestError('returnTo must be a path on this site');
}
