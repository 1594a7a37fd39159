import type { IncomingHttpHeaders } from 'node:http';
import got, { RequestError, type Got, type Method } from 'got';
import { ProviderError } from '../errors.ts';
import { resolveClientAuth, type ClientAuth } from './client-auth.ts';

/**
 * The one HTTP client of a provider: got with the provider's timeout, no redirects, no status
 * errors (callers classify every answer themselves) and, on request, one retry for connection
 * failures only. Timeouts and HTTP statuses are never retried here: a token endpoint that timed
 * out may have consumed a single-use code or refresh token. Client authentication (`auth`) is
 * resolved for every attempt, so a retry carries a freshly signed private_key_jwt assertion
 * (its `jti` is single-use at the provider).
 */

export type RetryPolicy = 'never' | 'network';

export interface HttpRequest {
  method: Method;
  url: URL | string;
  /** application/x-www-form-urlencoded body. */
  form?: Record<string, string>;
  /** JSON body. */
  json?: Record<string, unknown>;
  headers?: Record<string, string>;
  retry?: RetryPolicy;
  /** Client authentication, added to headers and form on every attempt. */
  auth?: ClientAuth;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface ProviderHttpOptions {
  providerId: string;
  /** Whole-request timeout in milliseconds. */
  timeoutMs: number;
  /** Pause before the one network retry. */
  retryDelayMs?: number;
}

/** Connection failures where retrying once is worth it; timeouts are deliberately absent. */
const RETRYABLE_NETWORK_CODES = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH'];

export const USER_AGENT = 'Tokengate';

function isRetryableNetworkError(err: unknown): boolean {
  return err instanceof RequestError && err.code !== undefined && RETRYABLE_NETWORK_CODES.includes(err.code);
}

export class ProviderHttp {
  readonly providerId: string;
  readonly timeoutMs: number;
  readonly #client: Got;
  readonly #retryDelayMs: number;

  constructor(options: ProviderHttpOptions) {
    this.providerId = options.providerId;
    this.timeoutMs = options.timeoutMs;
    this.#retryDelayMs = options.retryDelayMs ?? 100;
    this.#client = got.extend({
      timeout: { request: options.timeoutMs },
      throwHttpErrors: false,
      followRedirect: false,
      responseType: 'text',
      headers: { 'user-agent': USER_AGENT },
    });
  }

  /** Sends one request; any failure to get an answer becomes a transient ProviderError. */
  async send(operation: string, request: HttpRequest): Promise<HttpAnswer> {
    try {
      return await this.#attempt(request);
    } catch (err) {
      if (request.retry !== 'network' || !isRetryableNetworkError(err)) throw this.#networkFailure(operation, err);
    }
    await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs));
    try {
      return await this.#attempt(request);
    } catch (err) {
      throw this.#networkFailure(operation, err);
    }
  }

  async #attempt(request: HttpRequest): Promise<HttpAnswer> {
    const auth = request.auth === undefined ? undefined : await resolveClientAuth(request.auth);
    const form = request.form === undefined && auth === undefined ? undefined : { ...request.form, ...auth?.params };
    const response = await this.#client(request.url, {
      method: request.method,
      headers: { ...request.headers, ...auth?.headers },
      ...(form ? { form } : {}),
      ...(request.json ? { json: request.json } : {}),
      retry: { limit: 0 },
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /** A failure without an HTTP answer. The message names the operation and the error code only. */
  #networkFailure(operation: string, err: unknown): ProviderError {
    const code = err instanceof RequestError ? err.code : undefined;
    const timedOut = code === 'ETIMEDOUT';
    const reason = timedOut ? `timed out after ${this.timeoutMs} ms` : `failed: network error${code ? ` (${code})` : ''}`;
    return new ProviderError(this.providerId, `${this.providerId}: ${operation} ${reason}`, {
      transient: true,
      cause: { code, status: undefined },
    });
  }
}
