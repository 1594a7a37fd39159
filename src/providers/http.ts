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
 * (its `jti` is single-use at the provider); so is a DPoP proof.
 */

export type RetryPolicy = 'never' | 'network';

export interface HttpRequest {
  method: Method;
  url: URL | string;
  /** application/x-www-form-urlencoded body; a list is sent as the same name repeated (RFC 8707 `resource`). */
  form?: Record<string, string | readonly string[]>;
  /** JSON body. */
  json?: Record<string, unknown>;
  headers?: Record<string, string>;
  retry?: RetryPolicy;
  /** Client authentication, added to headers and form on every attempt. */
  auth?: ClientAuth;
  /** A DPoP proof (RFC 9449) made anew for every attempt (its `jti` is single-use), sent as `DPoP`. */
  proof?: () => Promise<string>;
  /**
   * Once the request has been sent, wait this long for the answer instead of the provider's
   * timeout (connecting and sending keep the provider's timeout). A token refresh uses it so that
   * a slow provider's answer, which may carry a rotated refresh token, is not thrown away.
   */
  answerTimeoutMs?: number;
  /** Aborts the request (shutdown). */
  signal?: AbortSignal;
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
      // A request the provider may have received is never sent again: it may already have
      // rotated the refresh token it carried.
      if (request.retry !== 'network' || !isRetryableNetworkError(err) || wasSent(err)) throw this.#networkFailure(operation, err);
    }
    await new Promise((resolve) => setTimeout(resolve, this.#retryDelayMs));
    try {
      return await this.#attempt(request);
    } catch (err) {
      throw this.#networkFailure(operation, err);
    }
  }

  /** One attempt; client authentication is made anew for each (a client assertion's jti is single-use). */
  async #attempt(request: HttpRequest): Promise<HttpAnswer> {
    const auth = request.auth === undefined ? undefined : await resolveClientAuth(request.auth);
    const form = request.form === undefined && auth === undefined ? undefined : { ...request.form, ...auth?.params };
    const proof = request.proof === undefined ? undefined : { dpop: await request.proof() };
    const timeoutMs = this.timeoutMs;
    const { headers: formHeaders, ...encoded } = formOption(form);
    const response = await this.#client(request.url, {
      method: request.method,
      headers: { ...request.headers, ...auth?.headers, ...formHeaders, ...proof },
      ...(request.answerTimeoutMs === undefined
        ? {}
        : {
            timeout: {
              lookup: timeoutMs,
              connect: timeoutMs,
              secureConnect: timeoutMs,
              send: timeoutMs,
              response: request.answerTimeoutMs,
              read: request.answerTimeoutMs,
              // Replaces the client's whole-request timeout (options merge).
              request: timeoutMs + request.answerTimeoutMs,
            },
          }),
      ...(request.signal ? { signal: request.signal } : {}),
      ...encoded,
      ...(request.json ? { json: request.json } : {}),
      retry: { limit: 0 },
    });
    return { status: response.statusCode, headers: response.headers, body: response.body };
  }

  /**
   * A failure without an HTTP answer. The message names the operation and the error code only.
   * `outcomeUnknown`: the whole request had been sent when it failed, so the provider may have
   * processed it (and rotated a refresh token) without the answer reaching us.
   */
  #networkFailure(operation: string, err: unknown): ProviderError {
    const code = err instanceof RequestError ? err.code : undefined;
    const timedOut = code === 'ETIMEDOUT';
    const aborted = err instanceof Error && err.name === 'AbortError';
    const reason = timedOut ? 'timed out' : aborted ? 'aborted' : `failed: network error${code ? ` (${code})` : ''}`;
    return new ProviderError(this.providerId, `${this.providerId}: ${operation} ${reason}`, {
      transient: true,
      outcomeUnknown: wasSent(err),
      cause: { code, status: undefined },
    });
  }
}

/** True when got had finished sending the request (its `upload` timing is set) but had no answer. */
function wasSent(err: unknown): boolean {
  const timings = (err as { timings?: { upload?: number; response?: number } } | undefined)?.timings;
  return timings?.upload !== undefined && timings.response === undefined;
}

/** got's `form` for single values; a body of repeated names when a field is a list (got would join it with commas). */
function formOption(form: Record<string, string | readonly string[]> | undefined): { form?: Record<string, string>; body?: string; headers?: Record<string, string> } {
  if (form === undefined) return {};
  if (!Object.values(form).some((value) => typeof value !== 'string')) return { form: form as Record<string, string> };
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const item of typeof value === 'string' ? [value] : value) body.append(name, item);
  return { body: body.toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } };
}
