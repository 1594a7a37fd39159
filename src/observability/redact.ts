/**
 * The logger's backstop against secrets: one walk over what is about to be logged, censoring
 * the value of every known secret key at any depth (up to MAX_DEPTH), and the secret headers of
 * every `headers` bag. Copy-on-write: the caller's object is never changed, and a line with
 * nothing to censor (almost every line) allocates nothing.
 *
 * Why not pino's `redact` option: it parses every path again for every value it redacts, and a
 * wildcard path (`*.accessToken`) makes it run the whole path list once per top-level key of
 * every line, the proxy's access line included.
 *
 * Redaction is the backstop, not the plan: types that hold secrets print '[present]' themselves
 * (src/secret.ts), and nothing should log them.
 */

export const CENSOR = '[redacted]';

/** Keys whose values are secrets wherever they turn up. */
export const SECRET_KEYS = [
  'accessToken',
  'refreshToken',
  'idToken',
  'access_token',
  'refresh_token',
  'id_token',
  'code',
  'client_secret',
  'clientSecret',
  'password',
  'logout_token',
  'state',
  'code_verifier',
  'dpopKey',
] as const;

/** Headers censored in any object under a `headers` key (compared case-insensitively). */
const SECRET_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'dpop'] as const;

/** How deep the walk goes below the logged object (the old path list reached two levels). */
const MAX_DEPTH = 6;

const secretKeys: ReadonlySet<string> = new Set(SECRET_KEYS);
const secretHeaders: ReadonlySet<string> = new Set(SECRET_HEADERS);

export interface RedactOptions {
  /**
   * Top-level keys left as they are, because a serializer reduces their values to an allowlist
   * before they are written (the logger's `err`/`error` go through serializeError).
   */
  skip?: ReadonlySet<string>;
}

/** `value` with every secret censored; the same object when there was nothing to censor. */
export function redactSecrets<T>(value: T, options: RedactOptions = {}): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return walk(value, 0) as T;
  return walkObject(value as Record<string, unknown>, value, 0, options.skip) as T;
}

function walk(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || depth > MAX_DEPTH) return value;
  // What JSON.stringify will write: an object's toJSON() result, if it has one.
  const source = typeof (value as { toJSON?: unknown }).toJSON === 'function' ? (value as { toJSON(): unknown }).toJSON() : value;
  if (typeof source !== 'object' || source === null) return value;
  if (Array.isArray(source)) return walkArray(source, value, depth);
  return walkObject(source as Record<string, unknown>, value, depth, undefined);
}

function walkArray(source: readonly unknown[], original: unknown, depth: number): unknown {
  let copy: unknown[] | undefined;
  for (let index = 0; index < source.length; index += 1) {
    const item = source[index];
    const next = walk(item, depth + 1);
    if (next !== item) {
      copy ??= [...source];
      copy[index] = next;
    }
  }
  return copy ?? (source === original ? original : source);
}

function walkObject(source: Record<string, unknown>, original: unknown, depth: number, skip: ReadonlySet<string> | undefined): unknown {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(source)) {
    const child = source[key];
    if (child === undefined || skip?.has(key)) continue;
    let next: unknown;
    if (secretKeys.has(key)) next = CENSOR;
    else if (key === 'headers') next = censorHeaders(child, depth + 1);
    else next = walk(child, depth + 1);
    if (next !== child) {
      copy ??= { ...source };
      copy[key] = next;
    }
  }
  return copy ?? (source === original ? original : source);
}

/** A header bag: secret headers censored, everything in it still walked like any object. */
function censorHeaders(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return walk(value, depth);
  let copy: Record<string, unknown> | undefined;
  const source = value as Record<string, unknown>;
  for (const name of Object.keys(source)) {
    if (source[name] !== undefined && secretHeaders.has(name.toLowerCase())) {
      copy ??= { ...source };
      copy[name] = CENSOR;
    }
  }
  return walk(copy ?? value, depth);
}
