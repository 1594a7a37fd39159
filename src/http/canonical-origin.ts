import type { Context, Next } from 'koa';
import { isNavigation } from './navigation.ts';

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

export function canonicalOrigin(options: CanonicalOriginOptions) {
  const publicOrigin = new URL(options.publicOrigin);
  const served = new Set([publicOrigin.hostname, ...(options.trustedHosts ?? [])].map((host) => host.toLowerCase()));
  const exempt = new Set(options.exempt ?? []);
  return async function redirectToPublicOrigin(ctx: Context, next: Next): Promise<void> {
    if ((ctx.method === 'GET' || ctx.method === 'HEAD') && !exempt.has(ctx.path) && isNavigation(ctx.headers)) {
      const host = requestHostname(ctx);
      if (host !== undefined && !served.has(host)) {
        const target = new URL(ctx.originalUrl, publicOrigin.origin);
        ctx.status = 308;
        ctx.set('Cache-Control', 'no-store');
        ctx.redirect(`${publicOrigin.origin}${target.pathname}${target.search}`);
        return;
      }
    }
    await next();
  };
}

/** The hostname the browser used: X-Forwarded-Host's first value, else Host. Lower case. */
function requestHostname(ctx: Context): string | undefined {
  const forwarded = ctx.get('x-forwarded-host').split(',')[0]!.trim();
  const raw = forwarded !== '' ? forwarded : ctx.get('host');
  if (raw === '' || !URL.canParse(`http://${raw}`)) return undefined;
  return new URL(`http://${raw}`).hostname.toLowerCase();
}
