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

export function csrfProtection(options: CsrfOptions) {
  const origins = new Set([options.publicOrigin, ...options.allowedOrigins]);
  const headerName = options.header.toLowerCase();

  return async function checkCsrf(ctx: Context & { state: Partial<GatewayState> }, next: Next): Promise<void> {
    if (!SAFE_METHODS.has(ctx.method)) {
      const reason = rejection(ctx, headerName, options.value, origins);
      if (reason !== undefined) {
        if (ctx.state.log) securityEvent(ctx.state.log, 'csrf_rejected', { reason, method: ctx.method });
        throw new CsrfRejectedError();
      }
    }
    await next();
  };
}

function rejection(ctx: Context, headerName: string, expected: string, origins: ReadonlySet<string>): string | undefined {
  const sent = ctx.request.headers[headerName];
  if (typeof sent !== 'string') return 'missing header';
  if (!sameSecret(sent, expected)) return 'wrong header value';
  const origin = ctx.request.headers.origin;
  if (origin !== undefined && !origins.has(origin)) return 'origin not allowed';
  return undefined;
}
