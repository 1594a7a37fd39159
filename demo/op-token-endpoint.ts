import { setTimeout as sleep } from 'node:timers/promises';
import type { Middleware } from 'koa';
import type { Provider } from 'oidc-provider';

/**
 * Fault shaping for the token endpoint: artificial latency (refresh-storm benchmarks) and a
 * number of injected failures (the gateway's transient-error handling). Both apply to every
 * POST to the token endpoint, whatever the grant type, and can change while the provider runs.
 */
export interface TokenEndpointShaping {
  delayMs: number;
  /** Answer this many next token requests with `failureStatus` instead of processing them. */
  failuresLeft: number;
  failureStatus: number;
}

function failureBody(status: number): { error: string; error_description: string } {
  if (status === 429) return { error: 'slow_down', error_description: 'too many requests (injected)' };
  if (status === 503) return { error: 'temporarily_unavailable', error_description: 'try again later (injected)' };
  return { error: 'server_error', error_description: 'internal error (injected)' };
}

export function shapeTokenEndpoint(provider: Provider, shaping: TokenEndpointShaping): Middleware {
  const tokenPath = provider.pathFor('token');
  return async function tokenEndpointShaping(ctx, next) {
    if (ctx.method !== 'POST' || ctx.path !== tokenPath) return next();
    if (shaping.delayMs > 0) await sleep(shaping.delayMs);
    if (shaping.failuresLeft > 0) {
      shaping.failuresLeft -= 1;
      ctx.status = shaping.failureStatus;
      if (shaping.failureStatus === 429 || shaping.failureStatus === 503) ctx.set('retry-after', '1');
      ctx.set('cache-control', 'no-store');
      ctx.body = failureBody(shaping.failureStatus);
      return;
    }
    return next();
  };
}
