import type { IncomingHttpHeaders } from 'node:http';

/** GET and HEAD: the methods a page navigation uses. */
export function isNavigationMethod(method: string | undefined): boolean {
  return method === 'GET' || method === 'HEAD';
}

/**
 * Is this request a person's browser navigating (a link, the address bar, a redirect from the
 * provider), rather than a program (fetch, XHR, curl asking for JSON)?
 *
 * - `Sec-Fetch-Mode: navigate` says so (every current browser sends it on navigations);
 * - any other `Sec-Fetch-Mode` (`cors`, `same-origin`, `no-cors`, `websocket`) says it is not;
 * - without the header (older browsers, tools), the Accept header decides: `text/html` named
 *   and preferred over `application/json`. `Accept: *\/*` (fetch's default, curl) and
 *   `application/json` mean a program.
 */
export function isNavigation(headers: IncomingHttpHeaders): boolean {
  const mode = headers['sec-fetch-mode'];
  if (mode !== undefined) return mode === 'navigate';
  const accept = headers.accept;
  if (accept === undefined) return false;
  const html = qualityOf(accept, 'text/html');
  return html !== undefined && html > 0 && html > (qualityOf(accept, 'application/json') ?? 0);
}

/** The q-value the Accept header gives exactly `type`, or undefined when it does not name it. */
function qualityOf(accept: string, type: string): number | undefined {
  let found: number | undefined;
  for (const range of accept.slice(0, 1024).split(',')) {
    const [name, ...params] = range.split(';').map((part) => part.trim().toLowerCase());
    if (name !== type) continue;
    const q = params.find((param) => param.startsWith('q='));
    const value = q === undefined ? 1 : Number(q.slice(2));
    if (Number.isFinite(value)) found = Math.max(found ?? 0, value);
  }
  return found;
}
