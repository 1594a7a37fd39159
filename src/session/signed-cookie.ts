import type { Context } from 'koa';
import { cookiePattern, cookieValue } from './cookie-header.ts';
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
 */

export type CookieRead =
  | { status: 'absent' }
  /** Present but unsigned, or signed with no key of ours. Its value is not given out. */
  | { status: 'forged' }
  | { status: 'valid'; value: string; signedWithOldKey: boolean };

export interface SignedCookieOptions {
  name: string;
  keys: CookieKeys;
  secure: boolean;
  sameSite: 'strict' | 'lax';
}

export class SignedCookie {
  readonly name: string;
  readonly #keys: CookieKeys;
  readonly #secure: boolean;
  readonly #sameSite: 'strict' | 'lax';
  readonly #valuePattern: RegExp;
  readonly #signaturePattern: RegExp;

  constructor(options: SignedCookieOptions) {
    this.name = options.name;
    this.#keys = options.keys;
    this.#secure = options.secure;
    this.#sameSite = options.sameSite;
    this.#valuePattern = cookiePattern(this.name);
    this.#signaturePattern = cookiePattern(`${this.name}.sig`);
  }

  read(ctx: Context): CookieRead {
    return this.readHeader(ctx.request.headers.cookie);
  }

  /** Reads the cookie from a raw `Cookie` request header. */
  readHeader(header: string | undefined): CookieRead {
    const value = cookieValue(header, this.#valuePattern);
    if (value === undefined || value === '') return { status: 'absent' };
    const signature = cookieValue(header, this.#signaturePattern);
    if (!signature) return { status: 'forged' };
    const index = this.#keys.index(`${this.name}=${value}`, signature);
    if (index < 0) return { status: 'forged' };
    return { status: 'valid', value, signedWithOldKey: index > 0 };
  }

  write(ctx: Context, value: string, maxAgeMs: number): void {
    this.#set(ctx, this.name, value, maxAgeMs);
    this.#set(ctx, `${this.name}.sig`, this.#keys.sign(`${this.name}=${value}`), maxAgeMs);
  }

  clear(ctx: Context): void {
    this.#set(ctx, this.name, '', undefined);
    this.#set(ctx, `${this.name}.sig`, '', undefined);
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
