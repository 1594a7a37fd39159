import { ProviderError } from '../errors.ts';
import type { HttpAnswer } from './http.ts';

/**
 * Reading provider answers: JSON bodies, OAuth `error` fields and the failure class of a status.
 * Messages carry the provider id, the operation, the status and the OAuth error code, never a
 * body, a URL or a value that was sent.
 */

export type JsonObject = Record<string, unknown>;

/** The body as a JSON object, or undefined when it is not one (HTML, text, arrays, garbage). */
export function jsonObject(answer: HttpAnswer): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(answer.body);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
  } catch {
    return undefined;
  }
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** 5xx and 429 may succeed later; every other status will not. */
export function isTransientStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** The OAuth `error` code of a body, when it looks like one (a short machine code, nothing else). */
export function oauthErrorOf(body: JsonObject | undefined): string | undefined {
  const value = body?.['error'];
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : undefined;
}

/**
 * The failure class of an answer: 5xx, 429 and an exhausted rate limit (GitHub answers 403 with
 * `x-ratelimit-remaining: 0`) may succeed later.
 */
export function isTransientAnswer(answer: HttpAnswer): boolean {
  return isTransientStatus(answer.status) || (answer.status === 403 && answer.headers['x-ratelimit-remaining'] === '0');
}

/**
 * Seconds to wait: `Retry-After` (seconds or HTTP date), else Discord's `retry_after` body field,
 * else GitHub's `x-ratelimit-reset` (epoch seconds).
 */
export function retryAfterOf(answer: HttpAnswer, body: JsonObject | undefined, now: number = Date.now()): number | undefined {
  const header = answer.headers['retry-after'];
  if (typeof header === 'string' && header.trim() !== '') {
    const seconds = Number(header);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
    const date = Date.parse(header);
    if (Number.isFinite(date)) return Math.max(0, Math.ceil((date - now) / 1000));
  }
  const field = body?.['retry_after'];
  if (typeof field === 'number' && Number.isFinite(field) && field >= 0) return Math.ceil(field);
  const reset = Number(answer.headers['x-ratelimit-reset']);
  return answer.headers['x-ratelimit-reset'] !== undefined && Number.isFinite(reset) ? Math.max(0, Math.ceil(reset - now / 1000)) : undefined;
}

/** The ProviderError for an answer that is not what the operation needed. */
export function answerFailure(providerId: string, operation: string, answer: HttpAnswer, problem?: string): ProviderError {
  const body = jsonObject(answer);
  const oauthError = oauthErrorOf(body);
  const transient = isTransientAnswer(answer);
  const detail = problem ?? (oauthError ? `error ${oauthError}` : body ? 'an error' : 'a non-JSON body');
  return new ProviderError(providerId, `${providerId}: ${operation} failed: HTTP ${answer.status} with ${detail}`, {
    oauthError,
    transient,
    httpStatus: answer.status,
    retryAfter: transient ? retryAfterOf(answer, body) : undefined,
    cause: { code: undefined, status: answer.status },
  });
}

/** The JSON object of a 2xx answer, or the ProviderError that describes what came instead. */
export function expectJsonObject(providerId: string, operation: string, answer: HttpAnswer): JsonObject {
  if (!isSuccess(answer.status)) throw answerFailure(providerId, operation, answer);
  const body = jsonObject(answer);
  if (!body) throw answerFailure(providerId, operation, answer, 'a non-JSON body');
  return body;
}

export function optionalString(body: JsonObject, field: string): string | undefined {
  const value = body[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A positive number of seconds; some providers send it as a numeric string. */
export function optionalSeconds(body: JsonObject, field: string): number | undefined {
  const value = body[field];
  const seconds = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : undefined;
}
