import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { escapeAttribute } from '../auth/continue-page.ts';
import type { ErrorBody } from './error-handler.ts';

/**
 * The error answer for a person: when a browser navigation to /auth/* ends in an error (Deny at
 * the provider, a stale or replayed callback, an unknown provider, a bad returnTo), a small HTML
 * page instead of raw JSON: what happened, the stable code, a "Try again" link to the login and
 * a "Back to the app" link. No script at all; the one inline style is allowed by its hash, and
 * the policy forbids everything else, framing included. Every text is HTML-escaped.
 */

const STYLE = [
  'body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:3rem 1rem;background:#f6f7f9;color:#1c1e21}',
  'main{max-width:32rem;margin:0 auto;background:#fff;border:1px solid #dadde1;border-radius:8px;padding:1.5rem 2rem}',
  'h1{font-size:1.25rem;margin:0 0 .75rem}',
  '.code{color:#606770;font-size:.875rem}',
  'nav a{display:inline-block;margin-right:1.25rem}',
].join('');

export interface ErrorPageLinks {
  /** The login to try again (a path on this gateway). */
  retry: string;
  /** Where the app lives (a path on this gateway). */
  home: string;
}

const TITLES: Record<number, string> = {
  401: 'You are not signed in',
  403: 'This request was refused',
  404: 'Page not found',
  503: 'Sign-in is unavailable right now',
};

function titleFor(status: number): string {
  return TITLES[status] ?? (status >= 500 ? 'Something went wrong' : 'Sign-in could not be completed');
}

export function errorPageHtml(status: number, body: ErrorBody, links: ErrorPageLinks): string {
  const requestId = body.requestId === undefined ? '' : ` · request <code>${escapeAttribute(body.requestId)}</code>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeAttribute(titleFor(status))}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    `<h1>${escapeAttribute(titleFor(status))}</h1>`,
    `<p>${escapeAttribute(body.error)}</p>`,
    `<p class="code">Error code <code>${escapeAttribute(body.code)}</code> (HTTP ${status})${requestId}</p>`,
    `<nav><a href="${escapeAttribute(links.retry)}">Try again</a><a href="${escapeAttribute(links.home)}">Back to the app</a></nav>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** The page's policy: nothing but its own inline style (by hash); no script, no framing. */
export function errorPagePolicy(): string {
  const hash = createHash('sha256').update(STYLE).digest('base64');
  return `default-src 'none'; style-src 'sha256-${hash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/**
 * "Try again" goes to the login of the provider this request was about, when it names a
 * configured one (the callback's path, the login's `provider`), without any returnTo (it may be
 * what was wrong); else to the plain login.
 */
function retryLink(ctx: Context, providerIds: ReadonlySet<string>): string {
  const fromCallback = /^\/auth\/callback\/([^/]+)$/.exec(ctx.path)?.[1];
  const fromLogin = ctx.path === '/auth/login' ? ctx.query['provider'] : undefined;
  const provider = fromCallback ?? (typeof fromLogin === 'string' ? fromLogin : undefined);
  return provider !== undefined && providerIds.has(provider) ? `/auth/login?provider=${encodeURIComponent(provider)}` : '/auth/login';
}

export function sendErrorPage(ctx: Context, status: number, body: ErrorBody, providerIds: ReadonlySet<string>): void {
  ctx.status = status;
  ctx.set('Content-Security-Policy', errorPagePolicy());
  ctx.set('X-Frame-Options', 'DENY');
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = errorPageHtml(status, body, { retry: retryLink(ctx, providerIds), home: '/' });
}
