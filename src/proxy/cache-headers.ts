import type { OutgoingHttpHeaders } from 'node:http';

/**
 * Authenticated responses stay out of shared caches (security audit item 5). A response on a
 * route that can carry the user's session (`auth: required | optional`, unless the route says
 * `cache: upstream`) leaves the gateway with:
 *
 * - `Cache-Control` made private: `public` and `s-maxage` are removed, `private` is added unless
 *   `private` or `no-store` is already there; `max-age`, `no-cache`, `must-revalidate` and the
 *   rest stay. A response without `Cache-Control` gets `private`, not `no-store`: it forbids
 *   shared caches (a CDN, a corporate proxy) while the user's own browser keeps the upstream's
 *   freshness and validators, which `no-store` would throw away.
 * - `Vary: Cookie` merged into the upstream's `Vary` (nothing to add when it is `*` or already
 *   names Cookie): the same URL answers differently for each session cookie.
 *
 * Engine-agnostic: headers in, headers out (the input is not modified).
 */

export type CacheMode = 'private' | 'upstream';

export function cacheHeaders(headers: OutgoingHttpHeaders, mode: CacheMode): OutgoingHttpHeaders {
  if (mode === 'upstream') return headers;
  const out: OutgoingHttpHeaders = { ...headers };
  out['cache-control'] = privateCacheControl(text(headers['cache-control']));
  const vary = text(headers.vary);
  if (vary === undefined || vary.trim() === '') out.vary = 'Cookie';
  else if (!splitList(vary).some((name) => name === '*' || name.toLowerCase() === 'cookie')) out.vary = `${vary}, Cookie`;
  return out;
}

/** The route's cache mode: private whenever the route can carry a session. */
export function routeCacheMode(route: { auth: 'required' | 'optional' | 'public'; cache: CacheMode }): CacheMode {
  return route.auth === 'public' ? 'upstream' : route.cache;
}

function privateCacheControl(value: string | undefined): string {
  if (value === undefined || value.trim() === '') return 'private';
  const kept = splitList(value).filter((directive) => {
    const name = directive.split('=', 1)[0]!.trim().toLowerCase();
    return name !== 'public' && name !== 's-maxage';
  });
  const names = new Set(kept.map((directive) => directive.split('=', 1)[0]!.trim().toLowerCase()));
  if (!names.has('private') && !names.has('no-store')) kept.unshift('private');
  return kept.join(', ');
}

function text(value: OutgoingHttpHeaders[string]): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : String(value);
}

/** Splits a comma-separated header list, keeping commas inside quoted strings (`no-cache="a, b"`). */
function splitList(value: string): string[] {
  const items: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of value) {
    if (char === '"') quoted = !quoted;
    if (char === ',' && !quoted) {
      if (current.trim() !== '') items.push(current.trim());
      current = '';
      continue;
    }
    current += char;
  }
  if (current.trim() !== '') items.push(current.trim());
  return items;
}
