/**
 * The one error registry. Every error Tokengate raises on purpose is a `GatewayError` with a
 * stable `code`, an HTTP `status`, an `expose` flag (may the browser see the message?) and an
 * optional `cause`. Code branches on `code` or `instanceof`, never on message text.
 */

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'NOT_FOUND'
  | 'REAUTHENTICATION_REQUIRED'
  | 'NO_SESSION'
  | 'SESSION_EXPIRED'
  | 'CSRF_REJECTED'
  | 'ORIGINAL_METHOD_UNKNOWN'
  | 'FORBIDDEN'
  | 'UPSTREAM_UNAVAILABLE'
  | 'UPSTREAM_TIMEOUT'
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
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly retryAfter: number | undefined;

  constructor(code: ErrorCode, status: number, message: string, expose: boolean, options: GatewayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.expose = expose;
    this.retryAfter = options.retryAfter;
  }
}

export class BadRequestError extends GatewayError {
  constructor(message: string, options?: GatewayErrorOptions) {
    super('BAD_REQUEST', 400, message, true, options);
  }
}

export class NotFoundError extends GatewayError {
  constructor(message = 'No route matches this path', options?: GatewayErrorOptions) {
    super('NOT_FOUND', 404, message, true, options);
  }
}

export class ReauthenticationRequiredError extends GatewayError {
  constructor(message = 'Please log in again', options?: GatewayErrorOptions) {
    super('REAUTHENTICATION_REQUIRED', 401, message, true, options);
  }
}

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
    super('PROVIDER_NOT_LINKED', 403, `This API needs your "${provider}" account linked to this session: ${linkPath}`, true, options);
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
export class NoSessionError extends GatewayError {
  constructor(message = 'Not logged in', options?: GatewayErrorOptions) {
    super('NO_SESSION', 401, message, true, options);
  }
}

export class SessionExpiredError extends GatewayError {
  constructor(message = 'No valid session', options?: GatewayErrorOptions) {
    super('SESSION_EXPIRED', 401, message, true, options);
  }
}

export class CsrfRejectedError extends GatewayError {
  constructor(message = 'Cross-site request rejected', options?: GatewayErrorOptions) {
    super('CSRF_REJECTED', 403, message, true, options);
  }
}

/**
 * Forward-auth: the ingress did not say which method the browser used (no X-Forwarded-Method or
 * X-Original-Method), and only a safe method would have passed the CSRF check. 403 because
 * ingresses (nginx auth_request) understand only 2xx, 401 and 403.
 */
export class OriginalMethodUnknownError extends GatewayError {
  constructor(message = 'The ingress did not send the original request method (X-Forwarded-Method or X-Original-Method)', options?: GatewayErrorOptions) {
    super('ORIGINAL_METHOD_UNKNOWN', 403, message, true, options);
  }
}

export class ForbiddenError extends GatewayError {
  constructor(message = 'Forbidden', options?: GatewayErrorOptions) {
    super('FORBIDDEN', 403, message, true, options);
  }
}

export class UpstreamUnavailableError extends GatewayError {
  constructor(message = 'The upstream service is unavailable', options?: GatewayErrorOptions) {
    super('UPSTREAM_UNAVAILABLE', 502, message, true, options);
  }
}

/** DESIGN.md names one code for both 502 and 504; the timeout keeps the code, status 504. */
export class UpstreamTimeoutError extends GatewayError {
  constructor(message = 'The upstream service timed out', options?: GatewayErrorOptions) {
    super('UPSTREAM_UNAVAILABLE', 504, message, true, options);
  }
}

export class TokenServiceUnavailableError extends GatewayError {
  constructor(message = 'The identity provider is unavailable; try again shortly', options: GatewayErrorOptions = {}) {
    super('TOKEN_SERVICE_UNAVAILABLE', 503, message, true, { retryAfter: 5, ...options });
  }
}

export class StoreUnavailableError extends GatewayError {
  constructor(message = 'The session store is unavailable', options: GatewayErrorOptions = {}) {
    super('STORE_UNAVAILABLE', 503, message, true, { retryAfter: 1, ...options });
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(message = 'Request body too large', options?: GatewayErrorOptions) {
    super('PAYLOAD_TOO_LARGE', 413, message, true, options);
  }
}

/** The client stopped sending a request body that the gateway was buffering (`proxy.bodyIdleTimeout`). */
export class RequestTimeoutError extends GatewayError {
  constructor(message = 'The request body stalled', options?: GatewayErrorOptions) {
    super('REQUEST_TIMEOUT', 408, message, true, options);
  }
}

/** The session already has `proxy.maxWebSocketsPerSession` WebSockets open. */
export class TooManyWebSocketsError extends GatewayError {
  constructor(message = 'Too many open WebSockets for this session', options?: GatewayErrorOptions) {
    super('TOO_MANY_WEBSOCKETS', 429, message, true, options);
  }
}

/** /auth/login past `login.maxPendingPerAddress` or `login.maxPending`: try again after Retry-After. */
export class TooManyPendingLoginsError extends GatewayError {
  constructor(message = 'Too many logins are in progress; try again later', options: GatewayErrorOptions = {}) {
    super('TOO_MANY_PENDING_LOGINS', 429, message, true, options);
  }
}

/**
 * A cluster primary handed a connection to a worker that died before taking it; the primary
 * answers it with this instead of leaving it open with nobody to serve it.
 */
export class WorkerExitedError extends GatewayError {
  constructor(message = 'The gateway process that took this connection stopped; try again', options: GatewayErrorOptions = {}) {
    super('WORKER_EXITED', 503, message, true, { retryAfter: 1, ...options });
  }
}

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

export function isGatewayError(err: unknown): err is GatewayError {
  return err instanceof GatewayError;
}
