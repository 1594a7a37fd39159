import type { ProxiedRequest } from './proxied-request.ts';
import { withGatewayHeaders } from './response-head.ts';

/**
 * A redirect the proxied-route handler answers instead of forwarding: 308 to the public origin
 * (canonicalRedirect) or 302 to the login (unauthenticatedAnswer). Never cached; the location is
 * built by those functions from the public origin or a checked same-origin path, never from a host
 * the client named. The body is what Koa's `ctx.redirect` writes for a program.
 */
export function answerRedirect(request: ProxiedRequest, status: 302 | 308, location: string): void {
  const { req, res } = request;
  if (res.destroyed || req.socket.destroyed) return;
  const body = `Redirecting to ${location}.`;
  res.writeHead(
    status,
    withGatewayHeaders(request, {
      location,
      'cache-control': 'no-store',
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    }),
  );
  if (req.method === 'HEAD') res.end();
  else res.end(body);
}
