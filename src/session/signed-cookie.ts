import type { Context } from 'koa';
import { cookiePattern, cookieValues } from './cookie-header.ts';
import type { CookieKeys } from './cookie-keys.ts';

/**
 * One signed cookie, in Koa's own format: the value in `<name>` and an HMAC of `<name>=<value>`
 * (sha256, see CookieKeys) in `<name>.sig`. The first key signs; every key verifies, and a value that
 * verified under an older key is signed again with the first one (key rotation).
 *
 * Reading checks the signature itself instead of `ctx.cookies.get(name, { signed: true })`,
 * for two reasons: that call cannot tell "no cookie" from "forged cookie", and on a mismatch
 * or a rotation it writes its own `.sig` header without our attributes (no Secure, no
 * SameSite), which a `__Host-` cookie forbids. It reads the raw Cookie header by the same
 * rules, so that a request without a Koa context (a WebSocket upgrade) is read the same way.
 *
 * Several cookies of the same name (a cookie planted by a sibling host or a longer path comes
 * first in the header): the first value whose signature verifies wins, so a planted cookie
 * cannot log the user out. Only when none verifies is the read `forged`.
 *
 * A `legacyName` (the name before a rename) is read when the current name is absent; such a
 * read reports `signedWithOldKey`, so the loader writes the cookie again under the current name,
 * and every write or clear also clears the legacy cookie the request carried.
 */

export type CookieRead =
  | { status: 'absent' }
  /** Present but unsigned, or signed with no key of ours. Its value is not given out. */
  | { status: 'forged' }
  /** `signedWithOldKey`: write it again (an older key signed it, or it came under the legacy name). */
  | { status: 'valid'; value: string; signedWithOldKey: boolean };

export interface SignedCookieOptions {
  name: string;
  keys: CookieKeys;
  secure: boolean;
  sameSite: 'strict' | 'lax';
  /** The cookie's previous name, still read while browsers migrate (see above). */
  legacyName?: string;
}

/** How many cookies of one name are looked at, at most. */
const MAX_SAME_NAME = 8;

interface NamePatterns {
  name: string;
  value: RegExp;
  sig: RegExp;
}

function namePatterns(name: string): NamePatterns {
  return { name, value: cookiePattern(name), sig: cookiePattern(`${name}.sig`) };
}

export class SignedCookie {
  readonly name: string;
  readonly legacyName: string | undefined;
  readonly #keys: CookieKeys;
  readonly #secure: boolean;
  readonly #sameSite: 'strict' | 'lax';
  /** The header patterns of the value and `.sig` cookies, current name then legacy, built once. */
  readonly #current: NamePatterns;
  readonly #legacy: NamePatterns | undefined;

  constructor(options: SignedCookieOptions) {
    this.name = options.name;
    this.legacyName = options.legacyName;
    this.#keys = options.keys;
    this.#secure = options.secure;
    this.#sameSite = options.sameSite;
    this.#current = namePatterns(this.name);
    this.#legacy = this.legacyName === undefined ? undefined : namePatterns(this.legacyName);
  }

  read(ctx: Context): CookieRead {
    return this.readHeader(ctx.request.headers.cookie);
  }

  /** Reads the cookie from a raw `Cookie` request header. */
  readHeader(header: string | undefined): CookieRead {
    const current = this.#readName(header, this.#current);
    if (current.status !== 'absent' || this.#legacy === undefined) return current;
    const legacy = this.#readName(header, this.#legacy);
    return legacy.status === 'valid' ? { ...legacy, signedWithOldKey: true } : legacy;
  }

  #readName(header: string | undefined, { name, value: valuePattern, sig }: NamePatterns): CookieRead {
    const values = cookieValues(header, valuePattern, MAX_SAME_NAME).filter((value) => value !== '');
    if (values.length === 0) return { status: 'absent' };
    const signatures = cookieValues(header, sig, MAX_SAME_NAME).filter((signature) => signature !== '');
    for (const value of values) {
      for (const signature of signatures) {
        const index = this.#keys.index(`${name}=${value}`, signature);
        if (index >= 0) return { status: 'valid', value, signedWithOldKey: index > 0 };
      }
    }
    return { status: 'forged' };
  }

  write(ctx: Context, value: string, maxAgeMs: number): void {
    this.#set(ctx, this.name, value, maxAgeMs);
    this.#set(ctx, `${this.name}.sig`, this.#keys.sign(`${this.name}=${value}`), maxAgeMs);
    this.#clearLegacy(ctx);
  }

  clear(ctx: Context): void {
    this.#set(ctx, this.name, '', undefined);
    this.#set(ctx, `${this.name}.sig`, '', undefined);
    this.#clearLegacy(ctx);
  }

  /** Clears the legacy cookie, when the request carried one. */
  #clearLegacy(ctx: Context): void {
    if (this.#legacy === undefined || cookieValues(ctx.request.headers.cookie, this.#legacy.value, 1).length === 0) return;
    this.#set(ctx, this.#legacy.name, '', undefined);
    this.#set(ctx, `${this.#legacy.name}.sig`, '', undefined);
  }

  /** The `Set-Cookie` lines of `write`, for a response without a Koa context. */
  writeLines(value: string, maxAgeMs: number): string[] {
    return [this.#line(this.name, value, maxAgeMs), this.#line(`${this.name}.sig`, this.#keys.sign(`${this.name}=${value}`), maxAgeMs)];
  }

  /** The `Set-Cookie` lines of `clear`, for a response without a Koa context. */
  clearLines(): string[] {
    return [this.#line(this.name, '', undefined), this.#line(`${this.name}.sig`, '', undefined)];
  }

  /** One line exactly as Koa's cookies serializes it with the options #set passes. */
  #line(name: string, value: string, maxAgeMs: number | undefined): string {
    let line = `${name}=${value}; path=/`;
    const maxAge = maxAgeMs === undefined ? 0 : Math.max(0, Math.floor(maxAgeMs));
    if (value === '') line += `; expires=${new Date(0).toUTCString()}`;
    else if (maxAge > 0) line += `; expires=${new Date(Date.now() + maxAge).toUTCString()}`;
    line += `; samesite=${this.#sameSite}`;
    if (this.#secure) line += '; secure';
    return `${line}; httponly`;
  }

  #set(ctx: Context, name: string, value: string, maxAgeMs: number | undefined): void {
    // The gateway usually sits behind a TLS terminator, so "is this connection encrypted" is
    // the wrong question: the public origin decides (see cookiePolicy).
    ctx.cookies.secure = this.#secure;
    ctx.cookies.set(name, value, {
      signed: false,
      httpOnly: true,
      secure: this.#secure,
      sameSite: this.#sameSite,
      path: '/',
      overwrite: true,
      ...(maxAgeMs === undefined ? {} : { maxAge: Math.max(0, Math.floor(maxAgeMs)) }),
    });
  }
}
