import type { Context, Next } from 'koa';
import { isAuthPath } from '../auth/prefix.ts';

/**
 * Headers on every response the gateway writes. `Referrer-Policy: no-referrer` keeps the
 * callback's `code` and `state` out of Referer headers; `nosniff` keeps JSON answers JSON.
 * Proxied responses may replace them with the upstream's own.
 */
export function securityHeaders() {
  return async function setSecurityHeaders(ctx: Context, next: Next): Promise<void> {
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Referrer-Policy', 'no-referrer');
    if (isAuthPath(ctx.path)) {
      ctx.set('X-Frame-Options', 'DENY');
      ctx.set('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
    }
    await next();
  };
}
