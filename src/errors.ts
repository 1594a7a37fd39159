/**
 * The one error registry. Every error Tokengate raises on purpose is a `GatewayError` with a
 * stable `code`, an HTTP `status`, an `expose` flag (may the browser see the message?) and an
 * optional `cause`. Code branches on `code` or `instanceof`, never on message text.
 */

import type { RefreshOutcome } from './tokens/types.ts';

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'REAUTHENTICATION_REQUIRED'
  | 'NO_SESSION'
  | 'SESSION_EXPIRED'
  | 'CSRF_REJECTED'
  | 'ORIGINAL_METHOD_UNKNOWN'
  | 'UPSTREAM_UNAVAILABLE'
  | 'TOKEN_SERVICE_UNAVAILABLE'
  | 'STORE_UNAVAILABLE'
  | 'PAYLOAD_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'TOO_MANY_WEBSOCKETS'
  | 'TOO_MANY_PENDING_LOGINS'
  | 'WORKER_EXITED'
  | 'CONFIG_INVALID'
  | 'DECRYPTION_FAILED'
  | 'STORED_DATA_CORRUPT'
  | 'PROVIDER_ERROR'
  | 'PKCE_UNSUPPORTED'
  | 'PAR_UNSUPPORTED'
  | 'PROVIDER_REJECTED'
  | 'PROVIDER_NOT_LINKED'
  | 'INTERNAL';

export interface GatewayErrorOptions {
  cause?: unknown;
  /** Seconds for a `Retry-After` header. */
  retryAfter?: number;
  /** Set by the token service where a request's token failed: what happened (src/tokens/types.ts). */
  outcome?: RefreshOutcome;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly retryAfter: number | undefined;
  /** What happened to the request's token, when the token service threw this error. */
  readonly outcome: RefreshOutcome | undefined;

  constructor(code: ErrorCode, status: number, message: string, expose: boolean, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = expose;
    this.retryAfter = options.retryAfter;
    this.outcome = options.outcome;
  }
}

/**
 * The base class of an error whose message the browser may see (`expose`): its code, status and
 * default message fixed, the caller's options over `defaults` (a Retry-After).
 */
function exposedError(code: ErrorCode, status: number, defaultMessage: string, defaults: GatewayErrorOptions = {}): new (message?: string, options?: GatewayErrorOptions) => GatewayError {
  return class extends GatewayError {
    constructor(message = defaultMessage, options: GatewayErrorOptions = {}) {
      super(code, status, message, true, { ...defaults, ...options });
    }
  };
}

export class BadRequestError extends GatewayError {
  constructor(message: string, options?: GatewayErrorOptions) {
    super('BAD_REQUEST', 400, message, true, options);
  }
}

export class NotFoundError extends exposedError('NOT_FOUND', 404, 'No route matches this path') {}

export class ReauthenticationRequiredError extends exposedError('REAUTHENTICATION_REQUIRED', 401, 'Please log in again') {}

/**
 * A route bound to another provider than the session's, and the session has no token of that
 * provider linked (or its linked grant ended): 403, the user links it at `linkPath`
 * (`/auth/link?provider=<id>`), which keeps the session.
 */
export class ProviderNotLinkedError extends GatewayError {
  readonly provider: string;
  readonly linkPath: string;

  constructor(provider: string, options?: GatewayErrorOptions) {
    const linkPath = `/auth/link?provider=${encodeURIComponent(provider)}`;
    super('PROVIDER_NOT_LINKED', 403, `This API needs your "${provider}" account linked to this session: ${linkPath}`, true, { outcome: 'provider_mismatch', ...options });
    this.provider = provider;
    this.linkPath = linkPath;
  }
}

/**
 * Refresh-token reuse: a compare-and-set met a refresh token this replica never wrote, so two
 * parties refreshed the same grant. The browser sees the plain REAUTHENTICATION_REQUIRED.
 */
export class RefreshTokenReuseError extends ReauthenticationRequiredError {}

/** A request that carries no session cookie at all: not logged in yet (a first visit). */
export class NoSessionError extends exposedError('NO_SESSION', 401, 'Not logged in') {}

export class SessionExpiredError extends exposedError('SESSION_EXPIRED', 401, 'No valid session') {}

export class CsrfRejectedError extends exposedError('CSRF_REJECTED', 403, 'Cross-site request rejected') {}

/**
 * Forward-auth: the ingress did not say which method the browser used (no X-Forwarded-Method or
 * X-Original-Method), and only a safe method would have passed the CSRF check. 403 because
 * ingresses (nginx auth_request) understand only 2xx, 401 and 403.
 */
export class OriginalMethodUnknownError extends exposedError('ORIGINAL_METHOD_UNKNOWN', 403, 'The ingress did not send the original request method (X-Forwarded-Method or X-Original-Method)') {}

export class UpstreamUnavailableError extends exposedError('UPSTREAM_UNAVAILABLE', 502, 'The upstream service is unavailable') {}

/** DESIGN.md names one code for both 502 and 504; the timeout keeps the code, status 504. */
export class UpstreamTimeoutError extends exposedError('UPSTREAM_UNAVAILABLE', 504, 'The upstream service timed out') {}

export class TokenServiceUnavailableError extends exposedError('TOKEN_SERVICE_UNAVAILABLE', 503, 'The identity provider is unavailable; try again shortly', { retryAfter: 5 }) {}

export class StoreUnavailableError extends exposedError('STORE_UNAVAILABLE', 503, 'The session store is unavailable', { retryAfter: 1 }) {}

export class PayloadTooLargeError extends exposedError('PAYLOAD_TOO_LARGE', 413, 'Request body too large') {}

/** The client stopped sending a request body that the gateway was buffering (`proxy.bodyIdleTimeout`). */
export class RequestTimeoutError extends exposedError('REQUEST_TIMEOUT', 408, 'The request body stalled') {}

/** The session already has `proxy.maxWebSocketsPerSession` WebSockets open. */
export class TooManyWebSocketsError extends exposedError('TOO_MANY_WEBSOCKETS', 429, 'Too many open WebSockets for this session') {}

/** /auth/login past `login.maxPendingPerAddress` or `login.maxPending`: try again after Retry-After. */
export class TooManyPendingLoginsError extends exposedError('TOO_MANY_PENDING_LOGINS', 429, 'Too many logins are in progress; try again later') {}

/**
 * A cluster primary handed a connection to a worker that died before taking it; the primary
 * answers it with this instead of leaving it open with nobody to serve it.
 */
export class WorkerExitedError extends exposedError('WORKER_EXITED', 503, 'The gateway process that took this connection stopped; try again', { retryAfter: 1 }) {}

/** Any failure to open a sealed value. Deliberately says nothing about what went wrong. */
export class DecryptionFailedError extends GatewayError {
  constructor() {
    super('DECRYPTION_FAILED', 500, 'Sealed value could not be opened', false);
  }
}

/**
 * A stored record (session or token set) that cannot be read: not JSON, or not the shape the code
 * relies on. Not an outage: the store answered. Session loading ends such a session (401);
 * nothing about the record reaches the browser.
 */
export class CorruptRecordError extends GatewayError {
  constructor(what: 'session record' | 'token set') {
    super('STORED_DATA_CORRUPT', 500, `stored ${what} cannot be read`, false);
  }
}

export interface ConfigIssue {
  path: string;
  message: string;
}

export class ConfigError extends GatewayError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const lines = issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`);
    super('CONFIG_INVALID', 500, `Invalid configuration (${issues.length} problem${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`, false);
    this.issues = issues;
  }
}

/**
 * A failure at the OAuth provider. `oauthError` is the OAuth `error` code when the provider sent
 * one (`invalid_grant`, GitHub's `bad_refresh_token`, ...). `transient` marks network errors,
 * timeouts, 5xx and 429: the grant may still be good. The message never contains a URL with a
 * query string or a token.
 */
export class ProviderError extends GatewayError {
  readonly providerId: string;
  readonly oauthError: string | undefined;
  readonly transient: boolean;
  readonly httpStatus: number | undefined;
  /**
   * The request had been sent when it failed without an answer (timeout, reset, abort): the
   * provider may have processed it. For a refresh, the refresh token it carried may be spent.
   */
  readonly outcomeUnknown: boolean;

  constructor(
    providerId: string,
    message: string,
    details: { oauthError?: string; transient: boolean; httpStatus?: number; cause?: unknown; retryAfter?: number; outcomeUnknown?: boolean },
  ) {
    super('PROVIDER_ERROR', 502, message, false, { cause: details.cause, retryAfter: details.retryAfter });
    this.providerId = providerId;
    this.oauthError = details.oauthError;
    this.transient = details.transient;
    this.httpStatus = details.httpStatus;
    this.outcomeUnknown = details.outcomeUnknown ?? false;
  }

  /** The grant is gone: the refresh token (or code) will never work again. */
  get grantRevoked(): boolean {
    return this.oauthError === 'invalid_grant' || this.oauthError === 'bad_refresh_token';
  }
}

/**
 * The provider's metadata lists its PKCE methods and S256 is not among them: no login is
 * started (RFC 9700 2.1.1; `plain` would put the verifier in the browser's URL).
 */
export class PkceUnsupportedError extends GatewayError {
  constructor(providerId: string) {
    super('PKCE_UNSUPPORTED', 502, `The identity provider "${providerId}" does not support PKCE with S256; login is not possible`, true);
  }
}

/**
 * Pushed authorization requests (RFC 9126) are required, by the provider entry (`par: required`)
 * or by the provider's metadata (`require_pushed_authorization_requests`), and cannot be made:
 * the metadata names no `pushed_authorization_request_endpoint`, or the entry says `par: off`.
 * No login is started.
 */
export class ParUnsupportedError extends GatewayError {
  constructor(providerId: string, why: string) {
    super('PAR_UNSUPPORTED', 502, `The identity provider "${providerId}" cannot take this login: ${why}; login is not possible`, true);
  }
}

/**
 * The provider refused a request Tokengate made on the browser's behalf, or answered it with
 * something unusable (a 4xx, or a 2xx without the fields it needs): it will not work on a retry
 * either. The message names the provider and its OAuth error code, never the request.
 */
export class ProviderRejectedError extends GatewayError {
  constructor(message: string, options?: GatewayErrorOptions) {
    super('PROVIDER_REJECTED', 502, message, true, options);
  }
}
