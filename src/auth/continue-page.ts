import type { Context } from 'koa';

/**
 * The callback's answer: a 200 HTML page that moves on to `returnTo` by itself (meta refresh,
 * no script) and offers a plain link, instead of a 302.
 *
 * Why not a redirect: the provider's redirect to the callback is a cross-site navigation, and a
 * browser treats a redirect chain as one navigation started by the provider's page. A 302 from
 * the callback would make the request to `returnTo` cross-site too, and it would not carry the
 * SameSite=Strict session cookie that the callback has just set: a page protected by
 * forward-auth would answer 401, send the browser to log in again, and loop. A navigation
 * started by this page comes from the gateway's own origin, so the cookie flows.
 *
 * `returnTo` is a validated same-origin path (safeReturnTo): it starts with `/`, so the refresh
 * URL is never read as quoted, and it is escaped for an HTML attribute. The page is never
 * cached, may not be framed and allows nothing to load or run; `Referrer-Policy: no-referrer`
 * (securityHeaders) keeps the callback's code and state out of the next request.
 */

const CONTENT_SECURITY_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function continuePageHtml(returnTo: string): string {
  const href = escapeAttribute(returnTo);
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<meta http-equiv="refresh" content="0;url=${href}">`,
    '<title>Signed in</title>',
    '</head>',
    '<body>',
    `<p>Signed in. <a href="${href}">Continue</a></p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

export function sendContinuePage(ctx: Context, returnTo: string): void {
  ctx.status = 200;
  ctx.set('Cache-Control', 'no-store');
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = continuePageHtml(returnTo);
}

const ATTRIBUTE_ESCAPES: Record<string, string> = { '&': '&amp;', '"': '&quot;', "'": '&#39;', '<': '&lt;', '>': '&gt;' };

/** Escapes text for HTML content and double- or single-quoted attribute values. */
export function escapeAttribute(text: string): string {
  return text.replace(/[&"'<>]/g, (character) => ATTRIBUTE_ESCAPES[character]!);
}
