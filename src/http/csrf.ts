import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Next } from 'koa';
import type { Config } from '../config/schema.ts';
import { sameSecret } from '../crypto/same-secret.ts';
import { CsrfRejectedError } from '../errors.ts';
import type { GatewayState } from './state.ts';
import { securityEvent } from '../observability/index.ts';

/**
 * CSRF defence for state-changing requests (DESIGN.md invariant 8): the configured header must
 * carry the configured value (a cross-site form or a simple request cannot set a custom header
 * without a CORS preflight), and an `Origin` header, when the browser sends one, must be the
 * public origin or an allowed one. Safe methods (GET, HEAD, OPTIONS) pass untouched.
 * Anything else answers 403 CSRF_REJECTED and logs a `csrf_rejected` security event.
 */

export interface CsrfOptions {
  header: string;
  value: string;
  allowedOrigins: readonly string[];
  publicOrigin: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfOptionsFrom(config: Pick<Config, 'csrf' | 'publicOrigin'>): CsrfOptions {
  return { ...config.csrf, publicOrigin: config.publicOrigin };
}

/** The CSRF rule as a plain function, for Koa routes and the proxied-route handler alike. */
export type CsrfRule = (method: string, headers: IncomingHttpHeaders) => string | undefined;

/** Why the request fails the CSRF rule, or undefined when it passes. */
export function csrfRule(options: CsrfOptions): CsrfRule {
  const origins = new Set([options.publicOrigin, ...options.allowedOrigins]);
  const headerName = options.header.toLowerCase();
  return function csrfRejection(method, headers) {
    if (SAFE_METHODS.has(method)) return undefined;
    const sent = headers[headerName];
    if (typeof sent !== 'string') return 'missing header';
    if (!sameSecret(sent, options.value)) return 'wrong header value';
    const origin = headers.origin;
    if (origin !== undefined && !origins.has(origin)) return 'origin not allowed';
    return undefined;
  };
}

export function csrfProtection(options: CsrfOptions) {
  const rejection = csrfRule(options);

  return async function checkCsrf(ctx: Context & { state: Partial<GatewayState> }, next: Next): Promise<void> {
    const reason = rejection(ctx.method, ctx.request.headers);
    if (reason !== undefined) {
      if (ctx.state.log) securityEvent(ctx.state.log, 'csrf_rejected', { reason, method: ctx.method });
      throw new CsrfRejectedError();
    }
    await next();
  };
}
