import type { IncomingHttpHeaders } from 'node:http';
import type { Context, Next } from 'koa';
import { isNavigation, isNavigationMethod } from './navigation.ts';

/**
 * One canonical origin for people. Cookies belong to a host: a browser that opens
 * http://127.0.0.1:8080/ while `publicOrigin` says http://localhost:8080 gets its login cookie
 * on one host and comes back from the provider to the other ("No login in progress in this
 * browser"). So a GET or HEAD page navigation (see isNavigation) whose host is not the public
 * origin's is redirected (308) to the same path and query on `publicOrigin`.
 *
 * - Only the path and query are carried over; the Location is always `publicOrigin` + path,
 *   never a host the client named.
 * - Hostnames are compared, not ports: a proxy that passes `Host: $host` drops the port.
 * - Behind a proxy, `X-Forwarded-Host` (when sent) is the host the browser used. A client that
 *   forges it can only keep itself on a wrong host; it never chooses a redirect target.
 * - `trustedHosts` are served as they are: the internal name a proxy in front sends as Host
 *   when it passes neither the public Host nor X-Forwarded-Host (nginx's default `proxy_pass`);
 *   without it, such a proxy would loop.
 * - Everything else is served whatever its Host: API calls and other programs (sidecars and
 *   health checks reach the gateway by internal names), and `exempt` paths (the forward-auth
 *   verify path, which ingresses call with the browser's headers).
 */
export interface CanonicalOriginOptions {
  publicOrigin: string;
  trustedHosts?: readonly string[];
  exempt?: readonly string[];
}

export interface CanonicalRequest {
  method: string;
  /** The request target as received (path and query, or an absolute-form URL). */
  url: string;
  headers: IncomingHttpHeaders;
}

/**
 * The decision, pure (any request handler can use it): the absolute URL on `publicOrigin` to
 * redirect to, or undefined to serve the request.
 */
export function canonicalRedirect(options: CanonicalOriginOptions, req: CanonicalRequest): string | undefined {
  return canonicalRedirector(options)(req);
}

/** canonicalRedirect with the options read once, for a handler that decides every request. */
export function canonicalRedirector(options: CanonicalOriginOptions): (req: CanonicalRequest) => string | undefined {
  const { origin, hostname } = new URL(options.publicOrigin);
  const served = [hostname, ...(options.trustedHosts ?? [])].map((name) => name.toLowerCase());
  return (req) => {
    // Methods and headers first, then the host: API calls and requests on a served host skip the URL parsing.
    if (!isNavigationMethod(req.method) || !isNavigation(req.headers)) return undefined;
    const host = requestHostname(req.headers);
    if (host === undefined || served.includes(host)) return undefined;
    const target = URL.canParse(req.url, origin) ? new URL(req.url, origin) : undefined;
    if (target === undefined || options.exempt?.includes(target.pathname)) return undefined;
    return `${origin}${target.pathname}${target.search}`;
  };
}

/** The Koa step: 308 to canonicalRedirect's URL, or on to the next middleware. */
export function canonicalOrigin(options: CanonicalOriginOptions) {
  const redirect = canonicalRedirector(options);
  return async function redirectToPublicOrigin(ctx: Context, next: Next): Promise<void> {
    const location = redirect({ method: ctx.method, url: ctx.originalUrl, headers: ctx.headers });
    if (location === undefined) return next();
    ctx.status = 308;
    ctx.set('Cache-Control', 'no-store');
    ctx.redirect(location);
  };
}

/** The hostname the browser used: X-Forwarded-Host's first value, else Host. Lower case. */
function requestHostname(headers: IncomingHttpHeaders): string | undefined {
  const forwarded = headerValue(headers['x-forwarded-host']).split(',')[0]!.trim();
  const raw = forwarded !== '' ? forwarded : headerValue(headers.host).trim();
  if (raw === '' || !URL.canParse(`http://${raw}`)) return undefined;
  const url = new URL(`http://${raw}`);
  // "host:port" only: anything with a path, user info or query is not a Host value.
  return url.pathname === '/' && url.username === '' && url.search === '' && url.hash === '' ? url.hostname : undefined;
}

function headerValue(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}
