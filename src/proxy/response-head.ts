import type { OutgoingHttpHeaders } from 'node:http';
import type { ProxiedRequest } from './proxied-request.ts';

/**
 * The headers the gateway puts on every response to a proxied route, under the upstream's (or
 * the error's) own: the request id, the security headers (which an upstream may replace with
 * its own), and any cookie the gateway cleared or re-signed. Passed whole to `writeHead`, so a
 * response costs no `setHeader` call.
 */
export function gatewayHeaders(request: ProxiedRequest): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-request-id': request.requestId,
  };
  if (request.setCookies !== undefined) headers['set-cookie'] = request.setCookies;
  return headers;
}

/** The gateway's headers with `own` on top; `Set-Cookie` lines of both are kept. */
export function withGatewayHeaders(request: ProxiedRequest, own: OutgoingHttpHeaders): OutgoingHttpHeaders {
  const headers = gatewayHeaders(request);
  const gatewayCookies = request.setCookies;
  for (const name in own) headers[name] = own[name];
  if (gatewayCookies !== undefined && own['set-cookie'] !== undefined) {
    const upstream = own['set-cookie'];
    headers['set-cookie'] = [...gatewayCookies, ...(Array.isArray(upstream) ? upstream : [String(upstream)])];
  }
  return headers;
}
