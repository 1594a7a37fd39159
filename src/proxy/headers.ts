import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * What crosses the gateway in each direction (invariants 1 and 6).
 *
 * Towards the upstream: hop-by-hop headers go (the standard ones and any named in
 * `Connection`), and so do the client's `Authorization` and `Proxy-Authorization`, the
 * gateway's own cookies (session, login transaction, consent, and their `.sig`) out of `Cookie`
 * while other cookies stay, the CSRF header, and any client-supplied `Forwarded` /
 * `X-Forwarded-*` (the gateway sets its own). `Authorization: Bearer` is added when the route
 * attaches a token.
 *
 * Towards the client: hop-by-hop headers go, and so does any `Set-Cookie` from the upstream
 * that would overwrite one of the gateway's cookies.
 */

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'];

/** End-to-end headers that a `Connection` list must not remove (framing and routing). */
const PROTECTED = new Set(['close', 'content-length', 'host']);

export interface HeaderPolicyOptions {
  /** `session.cookieName`: every cookie named `[__Host-]<name>`, `<name>_*` or `<name>.*` is the gateway's. */
  cookieName: string;
  /** The CSRF header name (any case). */
  csrfHeader: string;
}

export interface ForwardFacts {
  /** The client's address, for X-Forwarded-For. */
  clientAddress: string | undefined;
  /** `http` or `https`: how the browser reached the gateway. */
  proto: string;
  /** The host the browser asked for. */
  host: string;
  /** The bearer to attach, or undefined for an anonymous request. */
  authorization: string | undefined;
  /** Keep `Connection: upgrade` and `Upgrade` (WebSocket handshakes). */
  upgrade?: boolean;
}

export class HeaderPolicy {
  readonly #gatewayCookie: RegExp;
  readonly #csrfHeader: string;

  constructor(options: HeaderPolicyOptions) {
    this.#gatewayCookie = new RegExp(`^(__Host-)?${escapeRegExp(options.cookieName)}([._].*)?$`);
    this.#csrfHeader = options.csrfHeader.toLowerCase();
  }

  /** The headers to send upstream, built from the client's. The input is not modified. */
  toUpstream(incoming: IncomingHttpHeaders, facts: ForwardFacts): OutgoingHttpHeaders {
    const drop = new Set([...HOP_BY_HOP, ...namedInConnection(incoming.connection), 'authorization', 'cookie', 'forwarded', this.#csrfHeader]);
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(incoming)) {
      if (value === undefined || drop.has(name) || name.startsWith('x-forwarded-')) continue;
      out[name] = value;
    }
    const cookie = this.keepCookies(incoming.cookie);
    if (cookie !== undefined) out.cookie = cookie;
    if (facts.upgrade) {
      out.connection = 'upgrade';
      if (incoming.upgrade !== undefined) out.upgrade = incoming.upgrade;
    }
    if (facts.clientAddress !== undefined) out['x-forwarded-for'] = facts.clientAddress;
    out['x-forwarded-proto'] = facts.proto;
    out['x-forwarded-host'] = facts.host;
    if (facts.authorization !== undefined) out.authorization = facts.authorization;
    return out;
  }

  /** The `Cookie` header without the gateway's cookies; undefined when nothing is left. */
  keepCookies(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    const kept = header
      .split(';')
      .map((pair) => pair.trim())
      .filter((pair) => pair !== '' && !this.#gatewayCookie.test(pair.slice(0, pair.includes('=') ? pair.indexOf('=') : pair.length).trim()));
    return kept.length === 0 ? undefined : kept.join('; ');
  }

  /** The upstream's response headers as the client may see them. */
  toClient(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
    const drop = new Set([...HOP_BY_HOP, ...namedInConnection(upstream.connection)]);
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(upstream)) {
      if (value === undefined || drop.has(name)) continue;
      if (name === 'set-cookie') {
        const cookies = (Array.isArray(value) ? value : [value]).filter((line) => !this.#gatewayCookie.test(cookieName(line)));
        if (cookies.length > 0) out[name] = cookies;
        continue;
      }
      out[name] = value;
    }
    return out;
  }
}

function namedInConnection(connection: string | string[] | undefined): string[] {
  if (connection === undefined) return [];
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  return text
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && !PROTECTED.has(token));
}

function cookieName(setCookieLine: string): string {
  const end = setCookieLine.indexOf('=');
  return (end === -1 ? setCookieLine : setCookieLine.slice(0, end)).trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
