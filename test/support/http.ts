import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { CookieJar } from 'tough-cookie';

/**
 * A small browser-like HTTP client for integration tests: a tough-cookie jar that sends and
 * stores cookies the way a browser does on http://127.0.0.1 (Secure and `__Host-` cookies are
 * accepted on loopback, as browsers treat it as a secure context), one request per call with
 * redirects left to the caller (`request`) or followed (`navigate`). Every Set-Cookie received
 * is recorded. Uses node:http with a fresh connection per request, so nothing lingers.
 */

export interface BrowserRequestInit {
  method?: string;
  headers?: Record<string, string>;
  /** A URLSearchParams body is sent as application/x-www-form-urlencoded. */
  body?: string | Buffer | URLSearchParams;
  /** Sent as application/json. */
  json?: unknown;
  /** Origin of the page that made the request (SameSite context); default: the target's own origin. */
  initiator?: string;
  timeoutMs?: number;
  /**
   * Send the CSRF header (`x-csrf: 1`, the gateway's default), as the demo SPA's fetch wrapper
   * does on every API call. Default true for `request`; `navigate` never sends it (a browser
   * navigation cannot) and sends `Sec-Fetch-Mode: navigate` instead.
   */
  csrf?: boolean;
}

export interface BrowserResponse {
  url: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  text: string;
  /** Raw Set-Cookie header values of this response. */
  setCookies: string[];
  /** Absolute redirect target, when the response is a redirect. */
  location: string | undefined;
  json<T = unknown>(): T;
}

export interface ReceivedSetCookie {
  /** Origin and path of the response that set it (never its query). */
  from: string;
  header: string;
}

/** The gateway's default CSRF header (csrf.header / csrf.value), as every test stack configures it. */
export const CSRF_HEADER = { name: 'x-csrf', value: '1' } as const;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20;

export function newCookieJar(): CookieJar {
  return new CookieJar(undefined, { allowSecureOnLocal: true, rejectPublicSuffixes: false });
}

function siteOf(url: URL): string {
  return `${url.protocol}//${url.hostname}`;
}

function sameSiteContext(target: URL, initiator: string | undefined, method: string): 'strict' | 'lax' | 'none' {
  if (initiator === undefined || siteOf(new URL(initiator)) === siteOf(target)) return 'strict';
  return method === 'GET' ? 'lax' : 'none';
}

function encodeBody(init: BrowserRequestInit): { body: Buffer | undefined; contentType: string | undefined } {
  if (init.json !== undefined) return { body: Buffer.from(JSON.stringify(init.json)), contentType: 'application/json' };
  if (init.body instanceof URLSearchParams) return { body: Buffer.from(init.body.toString()), contentType: 'application/x-www-form-urlencoded' };
  if (typeof init.body === 'string') return { body: Buffer.from(init.body), contentType: undefined };
  return { body: init.body, contentType: undefined };
}

export class BrowserClient {
  readonly jar: CookieJar;
  readonly receivedSetCookies: ReceivedSetCookie[] = [];
  readonly #userAgent: string | undefined;

  /** `userAgent`: sent as User-Agent on every request that names none (default: no header). */
  constructor(options: { jar?: CookieJar; userAgent?: string } = {}) {
    this.jar = options.jar ?? newCookieJar();
    this.#userAgent = options.userAgent;
  }

  /** One request: sends the jar's cookies, stores the Set-Cookie answers, does not follow redirects. */
  async request(url: string | URL, init: BrowserRequestInit = {}): Promise<BrowserResponse> {
    const target = new URL(url);
    const method = (init.method ?? 'GET').toUpperCase();
    const context = sameSiteContext(target, init.initiator, method);
    const { body, contentType } = encodeBody(init);
    const headers: Record<string, string> = { ...init.headers };
    const named = (name: string) => Object.keys(headers).some((key) => key.toLowerCase() === name);
    if (init.csrf !== false && !named(CSRF_HEADER.name)) headers[CSRF_HEADER.name] = CSRF_HEADER.value;
    if (this.#userAgent !== undefined && !named('user-agent')) headers['user-agent'] = this.#userAgent;
    const cookie = await this.jar.getCookieString(target, { sameSiteContext: context });
    if (cookie !== '') headers['cookie'] = cookie;
    if (contentType !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = contentType;
    if (body !== undefined) headers['content-length'] = String(body.length);

    const response = await new Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      const req = httpRequest(target, { method, headers, agent: false, timeout: init.timeoutMs ?? 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`request to ${target.origin}${target.pathname} timed out`)));
      req.on('error', reject);
      req.end(body);
    });

    const setCookies = response.headers['set-cookie'] ?? [];
    for (const header of setCookies) {
      this.receivedSetCookies.push({ from: `${target.origin}${target.pathname}`, header });
      await this.jar.setCookie(header, target, { sameSiteContext: context, ignoreError: true });
    }
    const location = response.headers.location;
    const text = response.body.toString('utf8');
    return {
      url: target.href,
      status: response.status,
      headers: response.headers,
      body: response.body,
      text,
      setCookies,
      location: location === undefined ? undefined : new URL(location, target).href,
      json: <T>() => JSON.parse(text) as T,
    };
  }

  /**
   * Navigates like a browser: follows redirects (303, and 301/302 after a POST, turn into a
   * GET; 307/308 keep method and body) until a non-redirect response. `chain` lists every
   * response, the last one included.
   */
  async navigate(url: string | URL, init: BrowserRequestInit = {}): Promise<{ response: BrowserResponse; chain: BrowserResponse[] }> {
    const chain: BrowserResponse[] = [];
    const initiator = init.initiator ?? new URL(url).origin;
    const navigation = { ...init.headers };
    if (!Object.keys(navigation).some((key) => key.toLowerCase() === 'sec-fetch-mode')) navigation['sec-fetch-mode'] = 'navigate';
    let current: BrowserRequestInit = { ...init, initiator, headers: navigation, csrf: false };
    let response = await this.request(url, current);
    chain.push(response);
    while (REDIRECTS.has(response.status) && response.location !== undefined) {
      if (chain.length > MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
      const keepMethod = response.status === 307 || response.status === 308;
      const { body: _body, json: _json, method: _method, ...rest } = current;
      current = keepMethod ? current : { ...rest, method: 'GET' };
      response = await this.request(response.location, current);
      chain.push(response);
    }
    return { response, chain };
  }

  /** The cookie names the jar holds for a URL (what a browser would send there). */
  async cookieNames(url: string | URL): Promise<string[]> {
    const cookies = await this.jar.getCookies(new URL(url));
    return cookies.map((cookie) => cookie.key);
  }
}
