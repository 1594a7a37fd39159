import type { Context } from 'koa';
import { safeReturnTo } from '../auth/return-to.ts';

/**
 * What the ingress was asked for, as the ingress tells it:
 * - nginx `auth_request` (deploy/nginx): X-Original-URI, X-Original-Method;
 * - ingress-nginx: X-Original-URL (absolute), X-Original-Method;
 * - Traefik ForwardAuth: X-Forwarded-Uri, X-Forwarded-Method;
 * - Envoy ext_authz over HTTP: the original method, and the original path appended to the
 *   verify path (`/auth/verify/api/users`).
 *
 * None of it decides who the user is: the session cookie does. The method decides whether the
 * CSRF check may let a page navigation through; the URI is logged (path only) and becomes the
 * login hint's `returnTo`, which /auth/login validates again.
 *
 * The method: X-Forwarded-Method first (Traefik sets it, and copies a client's X-Original-Method
 * through untouched), then X-Original-Method (nginx), then, only for Envoy (the original path
 * appended to the verify path), the verify request's own method. Otherwise it is unknown:
 * nginx's auth_request subrequest is always a GET, so the verify request's method says nothing.
 */

export interface OriginalRequest {
  /** Upper-case; undefined when the ingress did not say. */
  method: string | undefined;
  /** Path and query as the browser sent them; undefined when the ingress did not say. */
  uri: string | undefined;
}

export function originalRequest(ctx: Context, verifyPath: string): OriginalRequest {
  const envoy = ctx.path.length > verifyPath.length;
  const method = header(ctx, 'x-forwarded-method') ?? header(ctx, 'x-original-method') ?? (envoy ? ctx.method : undefined);
  return { method: method?.toUpperCase(), uri: originalUri(ctx, verifyPath) };
}

function originalUri(ctx: Context, verifyPath: string): string | undefined {
  const direct = header(ctx, 'x-original-uri') ?? header(ctx, 'x-forwarded-uri');
  if (direct !== undefined) return direct;
  const url = header(ctx, 'x-original-url');
  if (url !== undefined) {
    try {
      const parsed = new URL(url);
      return `${parsed.pathname}${parsed.search}`;
    } catch {
      return undefined;
    }
  }
  if (ctx.path.length > verifyPath.length) return `${ctx.path.slice(verifyPath.length)}${ctx.search}`;
  return undefined;
}

/** The path of the original URI, without the query (which may hold codes or tokens), for logs. */
export function loggablePath(uri: string | undefined): string | undefined {
  if (uri === undefined) return undefined;
  const path = uri.split(/[?#]/, 1)[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/** `/auth/login?returnTo=<the original URI>`, or plain `/auth/login` when it is not a safe local path. */
export function loginHint(uri: string | undefined, publicOrigin: string): string {
  let returnTo = '/';
  try {
    returnTo = safeReturnTo(uri, publicOrigin);
  } catch {
    // An unsafe or overlong URI is not worth a 400 here: log in and land on the home page.
  }
  return returnTo === '/' ? '/auth/login' : `/auth/login?returnTo=${encodeURIComponent(returnTo)}`;
}

function header(ctx: Context, name: string): string | undefined {
  const value = ctx.request.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}
