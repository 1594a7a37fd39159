import type { Config } from '../config/schema.ts';
import { CookieKeys } from './cookie-keys.ts';
import { SignedCookie } from './signed-cookie.ts';

/**
 * The gateway's cookies and their attributes (DESIGN.md invariant 7).
 *
 * With an https public origin every cookie is Secure, HttpOnly, Path=/, no Domain, and named
 * with the `__Host-` prefix; the session cookie with `__Host-Http-` (RFC 10017 6.1.3.2: the
 * browser also refuses it from script, so no script can plant one). A plain-http public origin
 * is accepted by the config only on loopback (local dev); there Secure cannot be relied on, so
 * the names lose their prefixes (browsers refuse a prefixed cookie without Secure) and the
 * composition root warns at startup.
 *
 * - session: the opaque sid, SameSite=Strict. Its previous name `__Host-<name>` is still read
 *   (for one session lifetime after the rename), then written again under the new name and
 *   cleared (see SignedCookie's `legacyName`).
 * - login: the login-transaction id, SameSite=Lax because the provider's redirect back to the
 *   callback is a cross-site top-level navigation that must carry it. `__Host-Http-` too: a
 *   login cookie planted by script would make the callback finish a transaction of someone
 *   else's, and for `/auth/link` that links the browser's provider account to that person's
 *   session. The old `__Host-` name is not read (a login in flight at the upgrade starts again).
 * - consent: a provider id, Lax, set when a Google login came back without a refresh token so
 *   that the next login through that provider asks for consent again (Google issues a refresh
 *   token only at consent).
 */

export interface CookiePolicy {
  secure: boolean;
  /** `__Host-` or nothing. */
  prefix: string;
  /** The session cookie's: `__Host-Http-` or nothing. */
  sessionPrefix: string;
  /** Plain http on loopback: development only. */
  plainHttp: boolean;
}

export function cookiePolicy(publicOrigin: string): CookiePolicy {
  const secure = new URL(publicOrigin).protocol === 'https:';
  return { secure, prefix: secure ? '__Host-' : '', sessionPrefix: secure ? '__Host-Http-' : '', plainHttp: !secure };
}

export interface GatewayCookies {
  policy: CookiePolicy;
  session: SignedCookie;
  login: SignedCookie;
  consent: SignedCookie;
}

/** Cookie signing keys: the first signs, all verify; HMAC-SHA256 (see CookieKeys). */
export function cookieKeys(keys: readonly string[]): CookieKeys {
  return new CookieKeys(keys);
}

export function createCookies(config: Pick<Config, 'publicOrigin' | 'session'>, keys: CookieKeys): GatewayCookies {
  const policy = cookiePolicy(config.publicOrigin);
  const base = config.session.cookieName;
  const cookie = (suffix: string, sameSite: 'strict' | 'lax') =>
    new SignedCookie({ name: `${policy.prefix}${base}${suffix}`, keys, secure: policy.secure, sameSite });
  return {
    policy,
    session: new SignedCookie({
      name: `${policy.sessionPrefix}${base}`,
      keys,
      secure: policy.secure,
      sameSite: 'strict',
      ...(policy.secure ? { legacyName: `${policy.prefix}${base}` } : {}),
    }),
    login: new SignedCookie({ name: `${policy.sessionPrefix}${base}_login`, keys, secure: policy.secure, sameSite: 'lax' }),
    consent: cookie('_consent', 'lax'),
  };
}
