import { scrubText } from './scrub.ts';

/**
 * The one error serializer for logs (pino's `err` serializer). It keeps an allowlist of facts
 * and nothing else: an error object from got carries the request options, headers and body, and
 * an error from our own code may carry a `cause` from anywhere.
 */
export interface SerializedError {
  name: string;
  message: string;
  /** Our stable code (`REAUTHENTICATION_REQUIRED`...) or a Node/library code (`ECONNREFUSED`). */
  code?: string;
  /** HTTP status we answer for this error. */
  status?: number;
  /** The OAuth `error` code the provider sent. */
  oauthError?: string;
  /** The provider's HTTP status. */
  httpStatus?: number;
  transient?: boolean;
  stack?: string;
  cause?: SerializedError;
  /** The first few errors of an AggregateError. */
  errors?: SerializedError[];
}

/** How many `cause` links are followed. */
const MAX_DEPTH = 5;
const MAX_AGGREGATED = 5;

/** What an error code looks like: `BAD_REQUEST`, `ECONNREFUSED`, `ERR_HTTP2_STREAM_ERROR`. */
export const ERROR_CODE_SHAPE = /^[A-Z]+(?:_[A-Z0-9]+)*$/;
/** OAuth error codes are lower snake case (`invalid_grant`, GitHub's `bad_refresh_token`). */
const OAUTH_ERROR_SHAPE = /^[a-z][a-z0-9_]{0,63}$/;

export function serializeError(err: unknown): SerializedError {
  return serialize(err, 0);
}

function serialize(err: unknown, depth: number): SerializedError {
  if (typeof err !== 'object' || err === null) {
    return { name: typeof err, message: scrubText(String(err)) };
  }
  const source = err as Record<string, unknown>;
  const out: SerializedError = {
    name: nameOf(source),
    message: typeof source.message === 'string' ? scrubText(source.message) : '',
  };
  const code = source.code;
  if (typeof code === 'string' && code.length <= 64 && ERROR_CODE_SHAPE.test(code)) out.code = code;
  if (isStatus(source.status)) out.status = source.status;
  if (typeof source.oauthError === 'string' && OAUTH_ERROR_SHAPE.test(source.oauthError)) out.oauthError = source.oauthError;
  if (isStatus(source.httpStatus)) out.httpStatus = source.httpStatus;
  if (typeof source.transient === 'boolean') out.transient = source.transient;
  if (typeof source.stack === 'string') out.stack = scrubText(source.stack);
  if (depth < MAX_DEPTH) {
    if (source.cause !== undefined) out.cause = serialize(source.cause, depth + 1);
    if (Array.isArray(source.errors)) {
      out.errors = source.errors.slice(0, MAX_AGGREGATED).map((inner: unknown) => serialize(inner, depth + 1));
    }
  }
  return out;
}

function nameOf(source: Record<string, unknown>): string {
  const name = typeof source.name === 'string' ? source.name : source.constructor?.name;
  return typeof name === 'string' && /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'Error';
}

function isStatus(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 100 && value <= 599;
}
