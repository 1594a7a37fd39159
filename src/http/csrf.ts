import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Next } from 'koa';
import type { Config } from '../config/schema.ts';
import { KnownSecret } from '../crypto/same-secret.ts';
import { CsrfRejectedError } from '../errors.ts';
import { isNavigationMethod } from './navigation.ts';
import type { GatewayState } from './state.ts';
import { securityEvent } from '../observability/index.ts';

/**
 * CSRF defence (DESIGN.md invariant 8). `csrfRejection` is the rule, engine-agnostic:
 *
 * 1. An `Origin` header, when the browser sends one, must be the public origin or an allowed
 *    one, on every method.
 * 2. The configured header must carry the configured value (a cross-site form, image or simple
 *    request cannot set a custom header without a CORS preflight):
 *    - with `methods: 'all'` (the default for proxied routes) on every method: a cross-site GET
 *      with credentials must not reach an API with the user's bearer;
 *    - with `methods: 'unsafe'` only on methods other than GET, HEAD and OPTIONS;
 *    - except a page navigation (`Sec-Fetch-Mode: navigate`, GET or HEAD) on a route marked
 *      `page`, which a browser cannot send with a custom header.
 *    An unknown method (forward-auth without an original method) counts as unsafe.
 * A refusal answers 403 CSRF_REJECTED and logs a `csrf_rejected` security event.
 */

export interface CsrfOptions {
  header: string;
  value: string;
  allowedOrigins: readonly string[];
  publicOrigin: string;
}

export interface CsrfRule {
  methods: 'all' | 'unsafe';
  /** Page navigations (safe method, `Sec-Fetch-Mode: navigate`) need no header. */
  page: boolean;
}

export interface CsrfPolicy {
  /** Lower-case header name. */
  header: string;
  /** The header's value, compared in constant time (its digest computed once). */
  value: KnownSecret;
  origins: ReadonlySet<string>;
}

export interface CsrfRequest {
  /** Upper-case; undefined when unknown. */
  method: string | undefined;
  headers: IncomingHttpHeaders;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What the auth routes (logout) use: the header on state-changing methods only. */
export const UNSAFE_METHODS_ONLY: CsrfRule = { methods: 'unsafe', page: false };

export function csrfOptionsFrom(config: Pick<Config, 'csrf' | 'publicOrigin'>): CsrfOptions {
  return { ...config.csrf, publicOrigin: config.publicOrigin };
}

export function csrfPolicy(options: CsrfOptions): CsrfPolicy {
  return { header: options.header.toLowerCase(), value: new KnownSecret(options.value), origins: new Set([options.publicOrigin, ...options.allowedOrigins]) };
}

/** Why the request is refused, or undefined when it passes. */
export function csrfRejection(policy: CsrfPolicy, rule: CsrfRule, request: CsrfRequest): string | undefined {
  const { method, headers } = request;
  const origin = headers.origin;
  if (origin !== undefined && !policy.origins.has(origin)) return 'origin not allowed';
  if (method !== undefined) {
    if (rule.methods === 'unsafe' && SAFE_METHODS.has(method)) return undefined;
    if (rule.page && isNavigationMethod(method) && headers['sec-fetch-mode'] === 'navigate') return undefined;
  }
  const sent = headers[policy.header];
  if (typeof sent !== 'string') return 'missing header';
  if (!policy.value.matches(sent)) return 'wrong header value';
  return undefined;
}

/** Throws 403 CSRF_REJECTED (and logs the security event) when `csrfRejection` refuses. */
export function enforceCsrf(ctx: Context & { state: Partial<GatewayState> }, policy: CsrfPolicy, rule: CsrfRule, method: string | undefined = ctx.method): void {
  const reason = csrfRejection(policy, rule, { method, headers: ctx.request.headers });
  if (reason === undefined) return;
  if (ctx.state.log) securityEvent(ctx.state.log, 'csrf_rejected', { reason, method: method ?? 'unknown' });
  throw new CsrfRejectedError();
}

/** The Koa step for one fixed rule (default: state-changing methods only, as for logout). */
export function csrfProtection(options: CsrfOptions, rule: CsrfRule = UNSAFE_METHODS_ONLY) {
  const policy = csrfPolicy(options);
  return async function checkCsrf(ctx: Context & { state: Partial<GatewayState> }, next: Next): Promise<void> {
    enforceCsrf(ctx, policy, rule);
    await next();
  };
}
