import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';

/**
 * What crosses the gateway in each direction (invariants 1 and 6).
 *
 * Towards the upstream: hop-by-hop headers go (the standard ones and any named in
 * `Connection`), and so do the client's `Authorization` and `Proxy-Authorization`, the
 * gateway's own cookies (session, login transaction, consent, and their `.sig`) out of `Cookie`
 * while other cookies stay, the CSRF header, and any client-supplied `Forwarded` /
 * `X-Forwarded-*` (the gateway sets its own), and a client's `DPoP` proof. `Authorization: Bearer` (or `DPoP` with a proof) is added when the route
 * attaches a token.
 *
 * Also dropped: client headers that upstreams and frameworks commonly trust as if an edge had set
 * them (RFC 9700 §4.13): the client address (`X-Real-IP`, `True-Client-IP`: X-Real-IP is set
 * again from the socket address, like X-Forwarded-For), URL and method rewrites (`X-Original-URL`,
 * `X-Rewrite-URL`, `X-Original-URI`, `X-Original-Method`, `X-HTTP-Method-Override`,
 * `X-HTTP-Method`, `X-Method-Override`), TLS client certificates (`X-Client-Cert`, `Client-Cert`,
 * `Client-Cert-Chain`, `X-Forwarded-Client-Cert`, `X-SSL-Client-*`), and identity headers of
 * auth proxies (`X-Auth-Request-*`, `X-Forwarded-User`, `X-Remote-User`, `Remote-User`). Config
 * adds more (`proxy.stripHeaders`, a route's `stripHeaders`; a trailing `*` is a prefix).
 *
 * Towards the client: hop-by-hop headers go, and so does any `Set-Cookie` from the upstream
 * that would overwrite one of the gateway's cookies; the same for a WebSocket handshake's
 * answer (its 101 keeps `Connection` and `Upgrade`).
 */

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect'];

const HOP_BY_HOP_SET: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Client headers that upstreams may trust as set by an edge; never forwarded. */
export const UNTRUSTED_CLIENT_HEADERS: readonly string[] = [
  'x-real-ip',
  'true-client-ip',
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
  'x-original-method',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  'x-client-cert',
  'client-cert',
  'client-cert-chain',
  'x-forwarded-client-cert',
  'x-remote-user',
  'remote-user',
  'x-auth-request-*',
  'x-ssl-client-*',
];

/** End-to-end headers that a `Connection` list must not remove (framing and routing). */
const PROTECTED = new Set(['close', 'content-length', 'host']);

export interface HeaderPolicyOptions {
  /** `session.cookieName`: every cookie named `[__Host-[Http-]]<name>`, `<name>_*` or `<name>.*` is the gateway's. */
  cookieName: string;
  /** The CSRF header name (any case). */
  csrfHeader: string;
  /** `proxy.stripHeaders`: more names (lower case) or prefixes (ending in `*`) to drop. */
  stripHeaders?: readonly string[];
}

/** Header names and name prefixes to drop, from a list where a trailing `*` marks a prefix. */
export class HeaderSet {
  readonly names: ReadonlySet<string>;
  readonly prefixes: readonly string[];

  constructor(patterns: readonly string[]) {
    this.names = new Set(patterns.filter((p) => !p.endsWith('*')).map((p) => p.toLowerCase()));
    this.prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1).toLowerCase());
  }

  has(name: string): boolean {
    if (this.names.has(name)) return true;
    for (const prefix of this.prefixes) if (name.startsWith(prefix)) return true;
    return false;
  }
}

const NO_HEADERS = new HeaderSet([]);

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
  /** The route's own `stripHeaders`. */
  strip?: HeaderSet;
}

export class HeaderPolicy {
  readonly #gatewayCookie: RegExp;
  readonly #csrfHeader: string;
  /** Dropped towards the upstream whatever the request says (the rest of the list is per request). */
  readonly #dropUpstream: ReadonlySet<string>;
  /** Name prefixes dropped towards the upstream. */
  readonly #dropPrefixes: readonly string[];

  constructor(options: HeaderPolicyOptions) {
    this.#gatewayCookie = new RegExp(`^(__Host-(Http-)?)?${escapeRegExp(options.cookieName)}([._].*)?$`);
    this.#csrfHeader = options.csrfHeader.toLowerCase();
    const strip = new HeaderSet([...UNTRUSTED_CLIENT_HEADERS, ...(options.stripHeaders ?? [])]);
    this.#dropUpstream = new Set([...HOP_BY_HOP, 'authorization', 'dpop', 'cookie', 'forwarded', this.#csrfHeader, ...strip.names]);
    this.#dropPrefixes = ['x-forwarded-', ...strip.prefixes];
  }

  #dropped(name: string, strip: HeaderSet): boolean {
    if (this.#dropUpstream.has(name) || strip.has(name)) return true;
    for (const prefix of this.#dropPrefixes) if (name.startsWith(prefix)) return true;
    return false;
  }

  /** The headers to send upstream, built from the client's. The input is not modified. */
  toUpstream(incoming: IncomingHttpHeaders, facts: ForwardFacts): OutgoingHttpHeaders {
    const named = namedInConnection(incoming.connection);
    const strip = facts.strip ?? NO_HEADERS;
    const out: OutgoingHttpHeaders = {};
    for (const name in incoming) {
      const value = incoming[name];
      if (value === undefined || this.#dropped(name, strip) || named.includes(name)) continue;
      out[name] = value;
    }
    const cookie = this.keepCookies(incoming.cookie);
    if (cookie !== undefined && !strip.has('cookie')) out.cookie = cookie;
    if (facts.upgrade) {
      out.connection = 'upgrade';
      if (incoming.upgrade !== undefined) out.upgrade = incoming.upgrade;
    }
    if (facts.clientAddress !== undefined) {
      out['x-forwarded-for'] = facts.clientAddress;
      out['x-real-ip'] = facts.clientAddress;
    }
    out['x-forwarded-proto'] = facts.proto;
    out['x-forwarded-host'] = facts.host;
    if (facts.authorization !== undefined) out.authorization = facts.authorization;
    return out;
  }

  /** The `Cookie` header without the gateway's cookies; undefined when nothing is left. */
  keepCookies(header: string | undefined): string | undefined {
    if (header === undefined) return undefined;
    let kept: string | undefined;
    for (const part of header.split(';')) {
      const pair = part.trim();
      if (pair === '') continue;
      const end = pair.indexOf('=');
      if (this.#gatewayCookie.test((end === -1 ? pair : pair.slice(0, end)).trim())) continue;
      kept = kept === undefined ? pair : `${kept}; ${pair}`;
    }
    return kept;
  }

  /** The upstream's response headers as the client may see them. */
  toClient(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
    const named = namedInConnection(upstream.connection);
    const out: OutgoingHttpHeaders = {};
    for (const name in upstream) {
      const value = upstream[name];
      if (value === undefined || HOP_BY_HOP_SET.has(name) || named.includes(name)) continue;
      if (name === 'set-cookie') {
        const cookies = (Array.isArray(value) ? value : [value]).filter((line) => !this.#gatewayCookie.test(cookieName(line)));
        if (cookies.length > 0) out[name] = cookies;
        continue;
      }
      out[name] = value;
    }
    return out;
  }

  /**
   * The upstream's 101 head as the client may see it: `toClient`, keeping the `Connection` and
   * `Upgrade` that make it a switch of protocols.
   */
  toClientSwitching(upstream: IncomingHttpHeaders): OutgoingHttpHeaders {
    const out = this.toClient(upstream);
    if (upstream.connection !== undefined) out.connection = upstream.connection;
    if (upstream.upgrade !== undefined) out.upgrade = upstream.upgrade;
    return out;
  }
}

const NONE: readonly string[] = [];

function namedInConnection(connection: string | string[] | undefined): readonly string[] {
  if (connection === undefined) return NONE;
  const text = Array.isArray(connection) ? connection.join(',') : connection;
  // The usual `keep-alive` or `close` names nothing beyond the hop-by-hop list.
  if (text === 'keep-alive' || text === 'close') return NONE;
  return text
    .split(',')
    .map((token) => token.trim().toLowerCase())
    .filter((token) => token !== '' && !PROTECTED.has(token));
}

/**
 * The name a browser will send the cookie back under. A nameless cookie (`=tg_session=x`, or a
 * pair without `=`) is stored with an empty name and sent back as its bare value, `tg_session=x`:
 * its value's own `name=` is what counts.
 */
function cookieName(setCookieLine: string): string {
  const pair = setCookieLine.split(';', 1)[0]!.trim();
  const end = pair.indexOf('=');
  if (end === -1) return pair;
  const name = pair.slice(0, end).trim();
  if (name !== '') return name;
  const value = pair.slice(end + 1).trim();
  const inner = value.indexOf('=');
  return (inner === -1 ? value : value.slice(0, inner)).trim();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
