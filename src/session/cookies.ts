import type { Config } from '../config/schema.ts';
import { CookieKeys } from './cookie-keys.ts';
import { SignedCookie } from './signed-cookie.ts';

/**
 * The gateway's cookies and their attributes (DESIGN.md invariant 7).
 *
 * With an https public origin every cookie is `__Host-<name>`, Secure, HttpOnly, Path=/, no
 * Domain. A plain-http public origin is accepted by the config only on loopback (local dev);
 * there Secure cannot be relied on, so the names lose the `__Host-` prefix (browsers refuse a
 * `__Host-` cookie without Secure) and the composition root warns at startup.
 *
 * - session: the opaque sid, SameSite=Strict.
 * - login: the login-transaction id, SameSite=Lax because the provider's redirect back to the
 *   callback is a cross-site top-level navigation that must carry it.
 * - consent: a provider id, Lax, set when a Google login came back without a refresh token so
 *   that the next login through that provider asks for consent again (Google issues a refresh
 *   token only at consent).
 */

export interface CookiePolicy {
  secure: boolean;
  /** `__Host-` or nothing. */
  prefix: string;
  /** Plain http on loopback: development only. */
  plainHttp: boolean;
}

export function cookiePolicy(publicOrigin: string): CookiePolicy {
  const secure = new URL(publicOrigin).protocol === 'https:';
  return { secure, prefix: secure ? '__Host-' : '', plainHttp: !secure };
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
    session: cookie('', 'strict'),
    login: cookie('_login', 'lax'),
    consent: cookie('_consent', 'lax'),
  };
}
