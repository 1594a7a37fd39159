/**
 * Text scrubbing for logs. Error messages are written by libraries that do not know what a
 * secret is: got puts the full request URL (query string included) in its messages, and a
 * provider's error body may echo a token. Everything Tokengate logs as free text goes through
 * `scrubText`; every URL it logs goes through `safeUrl`.
 */

/** Longest text kept from one message; the rest is cut. */
const MAX_TEXT = 2_000;

/** `scheme://...` up to whitespace or a quote. */
const ABSOLUTE_URL = /\b[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s"'<>`]+/g;
/** An absolute path followed by a query string or fragment, e.g. `GET /auth/callback?code=...`. */
const PATH_WITH_QUERY = /(^|[\s"'(=])(\/[^\s"'?#<>`]*)[?#][^\s"'<>`)]*/g;
/** A credential after an HTTP auth scheme name. */
const AUTH_SCHEME = /\b(Bearer|Basic|DPoP)(\s+|%20)[A-Za-z0-9._~+/=-]+/gi;
/** A JWT (or JWS/JWE) in compact form: base64url JSON header `{"...` always starts with `eyJ`. */
const JWT_LIKE = /\beyJ[A-Za-z0-9_-]{4,}(?:\.[A-Za-z0-9_-]*){0,4}/g;
/** `name=value` or `"name":"value"` for the names OAuth uses for secrets. */
const SECRET_PAIR =
  /\b(access_token|refresh_token|id_token|logout_token|client_secret|code_verifier|password|accessToken|refreshToken|idToken|clientSecret)(["']?\s*[:=]\s*["']?)[^\s"'&,;}]+/g;
/** Long opaque runs (sealed values, provider tokens without a recognisable shape). */
const OPAQUE_RUN = /[A-Za-z0-9_-]{40,}/g;
/** Prefixes of well-known opaque provider tokens (Google `ya29.`/`1//`, GitHub `gho_`...). */
const KNOWN_TOKEN = /(?:\bya29\.|(?<![\w/])1\/\/|\bgh[oprsu]_)[A-Za-z0-9._-]+/g;

/**
 * A URL without query string, fragment or userinfo. Accepts absolute URLs, URL objects and
 * relative references (`/path?x=1` becomes `/path`). Never throws.
 */
export function safeUrl(url: string | URL): string {
  if (url instanceof URL) return stripUrl(url);
  try {
    return stripUrl(new URL(url));
  } catch {
    return cutQuery(url);
  }
}

/** Already an origin: scheme and host characters only (no userinfo, path, query or fragment). */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.:[\]-]+$/;

/** Only the origin of a URL (an upstream, an Origin header); text that is not a URL is scrubbed. Never throws. */
export function originOf(url: string): string {
  if (ORIGIN.test(url)) return url;
  try {
    return new URL(url).origin;
  } catch {
    return scrubText(safeUrl(url));
  }
}

function stripUrl(source: URL): string {
  const url = new URL(source.href);
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.href;
}

function cutQuery(text: string): string {
  const end = text.search(/[?#]/);
  return end === -1 ? text : text.slice(0, end);
}

/**
 * Free text safe to log: URLs lose their query strings, fragments and userinfo; bearer
 * credentials, JWT-shaped strings, `token=value` pairs, well-known provider token shapes and
 * long opaque runs are masked. Cut to a bounded length.
 */
export function scrubText(text: string): string {
  const bounded = text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
  return bounded
    .replace(ABSOLUTE_URL, (match) => safeUrl(match))
    .replace(PATH_WITH_QUERY, (_match, lead: string, path: string) => `${lead}${path}`)
    .replace(AUTH_SCHEME, (_match, scheme: string, gap: string) => `${scheme}${gap}[masked]`)
    .replace(JWT_LIKE, '[masked]')
    .replace(SECRET_PAIR, (_match, name: string, separator: string) => `${name}${separator}[masked]`)
    .replace(KNOWN_TOKEN, '[masked]')
    .replace(OPAQUE_RUN, '[masked]');
}
