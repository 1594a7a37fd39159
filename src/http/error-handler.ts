import type { Context, Next } from 'koa';
import { isAuthPath } from '../auth/prefix.ts';
import { GatewayError } from '../errors.ts';
import { sendErrorPage } from './error-page.ts';
import { isNavigation } from './navigation.ts';
import type { GatewayState } from './state.ts';

export interface ErrorBody {
  error: string;
  code: string;
  requestId?: string;
}

/**
 * The one error-to-response middleware. A GatewayError with `expose` answers its status, code
 * and message as JSON; anything else becomes an opaque 500 with the request id and is logged
 * once. Nothing about the cause reaches the browser.
 *
 * A browser navigation to /auth/* (see isNavigation) gets the same status, code and message as a
 * small HTML page with links onward (error-page.ts), instead of JSON: a person, not a program,
 * is looking at it. Programs (fetch, XHR, curl) always get JSON. `jsonOnly` names paths that
 * always answer JSON (the forward-auth verify path, which ingresses call with the browser's
 * headers); `providerIds` are the configured providers a "Try again" link may name.
 */
export function errorHandler(options: { jsonOnly?: readonly string[]; providerIds?: readonly string[] } = {}) {
  const jsonOnly = new Set(options.jsonOnly ?? []);
  const providerIds = new Set(options.providerIds ?? []);
  return async function handleErrors(ctx: Context & { state: Partial<GatewayState> }, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      if (ctx.headerSent || !ctx.writable) {
        // A client that went away is not an error: its access line says status 499, aborted.
        if (!clientGone(ctx)) ctx.state.log?.warn({ event: 'error_after_response_started', err }, 'error after the response started');
        return;
      }
      const answer = errorAnswer(err, ctx.state.requestId);
      if (answer.logged) ctx.state.log?.error({ event: 'request_failed', err }, 'request failed');
      ctx.status = answer.status;
      ctx.set(answer.headers);
      if (isAuthPath(ctx.path) && !jsonOnly.has(ctx.path) && isNavigation(ctx.headers)) sendErrorPage(ctx, ctx.status, answer.body, providerIds);
      else ctx.body = answer.body;
    }
  };
}

function toErrorBody(err: unknown, requestId: string | undefined): ErrorBody {
  if (err instanceof GatewayError && err.expose) return { error: err.message, code: err.code };
  const code = err instanceof GatewayError ? err.code : 'INTERNAL';
  return { error: 'Internal error', code, ...(requestId ? { requestId } : {}) };
}

/**
 * The answer to an error, whatever carries it (the Koa middleware above, the proxied-route
 * handler, a refused WebSocket handshake): its status, its JSON body, and the headers every error
 * answer has (`Cache-Control: no-store`, `Retry-After` when the error names one). `logged`: the
 * error is not one the gateway answers on purpose (not an exposed GatewayError), so it is logged
 * once as `request_failed`.
 */
export function errorAnswer(err: unknown, requestId: string | undefined): { status: number; body: ErrorBody; headers: Record<string, string>; logged: boolean } {
  const gatewayError = err instanceof GatewayError ? err : undefined;
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (gatewayError?.retryAfter !== undefined) headers['retry-after'] = String(gatewayError.retryAfter);
  return { status: gatewayError?.status ?? 500, body: toErrorBody(err, requestId), headers, logged: !gatewayError?.expose };
}

/** The client closed the connection (or aborted the request) before its answer was complete. */
function clientGone(ctx: Context): boolean {
  return ctx.req.destroyed || ctx.res.destroyed || ctx.req.socket.destroyed;
}
