import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DpopChecker } from './api-dpop.ts';
import { closeServer, listenOnLoopback } from './listen.ts';

/**
 * The sample API behind the gateway: a plain node:http server on 127.0.0.1 that accepts a
 * request only with an `Authorization: Bearer` access token the OpenID Provider's introspection
 * calls active, and answers with a JSON description of what it received (never a token or a
 * cookie value). Routes: `/events` (server-sent events: three, then the stream ends),
 * `/slow?ms=` (answers after a delay), anything else echoes.
 */

export interface TokenIntrospection {
  active: boolean;
  sub?: string;
  token_type?: string;
  /** RFC 9449: the thumbprint of the key a DPoP-bound token is bound to. */
  cnf?: { jkt?: string };
}

export interface SampleApiOptions {
  /** Introspects a bearer token, e.g. `op.introspect`. A rejection makes the API answer 503. */
  introspect(token: string): Promise<TokenIntrospection>;
  /** Default 0 (a free port). */
  port?: number;
  /** Milliseconds between the three `/events`; default 20. */
  eventIntervalMs?: number;
  /** Most recent requests kept in `requests`; default 10,000. */
  maxRecorded?: number;
  /** DPoP-bound tokens (RFC 9449) are always checked; `requireNonce` makes their proofs carry the API's nonce. */
  dpop?: { requireNonce?: boolean };
}

export interface RecordedRequest {
  sub: string | undefined;
  method: string;
  path: string;
  status: number;
  bodySha256: string;
  bodyBytes: number;
  hadAuthorization: boolean;
  hadCookie: boolean;
  /** Any header whose name starts with `x-csrf`. */
  hadCsrf: boolean;
  cookieNames: string[];
  headerNames: string[];
  /** The Authorization scheme, `Bearer` or `DPoP` (undefined without a usable header). */
  scheme?: 'Bearer' | 'DPoP';
}

/** What the API answers for an accepted request. */
export interface SampleApiEcho {
  sub: string;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  bodySha256: string;
  bodyBytes: number;
  /** Every header received; secret ones (credentials, cookies, tokens) as '[redacted]'. */
  headers: Record<string, string>;
}

export interface SampleApiHandle {
  readonly url: string;
  readonly port: number;
  /** Every request, oldest first (bounded by `maxRecorded`). Tests may clear it with `requests.length = 0`. */
  readonly requests: RecordedRequest[];
  /** The DPoP proof checker (its nonce can be rotated). */
  readonly dpop: DpopChecker;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const MAX_SLOW_MS = 30_000;
const SECRET_HEADER = /authorization|cookie|token|secret|api-key|session/i;

function describeHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const described: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    described[name] = SECRET_HEADER.test(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return described;
}

function cookieNames(header: string | undefined): string[] {
  if (header === undefined) return [];
  return header.split(';').map((pair) => pair.split('=')[0]?.trim() ?? '').filter((name) => name !== '');
}

function queryOf(url: URL): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const name of new Set(url.searchParams.keys())) {
    const values = url.searchParams.getAll(name);
    query[name] = values.length === 1 ? (values[0] ?? '') : values;
  }
  return query;
}

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function accessTokenOf(header: string | undefined): { scheme: 'Bearer' | 'DPoP'; token: string } | undefined {
  const match = header === undefined ? null : /^(Bearer|DPoP) +([\x21-\x7e]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers });
  res.end(JSON.stringify(body));
}

async function sendEvents(res: ServerResponse, sub: string, intervalMs: number): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
  res.flushHeaders();
  for (let id = 1; id <= 3 && !res.destroyed; id += 1) {
    res.write(`id: ${id}\nevent: tick\ndata: ${JSON.stringify({ n: id, sub })}\n\n`);
    if (id < 3) await sleep(intervalMs);
  }
  res.end();
}

export async function startSampleApi(options: SampleApiOptions): Promise<SampleApiHandle> {
  const requests: RecordedRequest[] = [];
  const maxRecorded = options.maxRecorded ?? 10_000;
  const eventIntervalMs = options.eventIntervalMs ?? 20;
  const dpop = new DpopChecker(options.dpop);
  let origin = '';

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const bodyBytes = body?.length ?? 0;
    const bodySha256 = createHash('sha256').update(body ?? Buffer.alloc(0)).digest('hex');
    const record: RecordedRequest = {
      sub: undefined,
      method: req.method ?? 'GET',
      path: url.pathname,
      status: 0,
      bodySha256,
      bodyBytes,
      hadAuthorization: req.headers.authorization !== undefined,
      hadCookie: req.headers.cookie !== undefined,
      hadCsrf: Object.keys(req.headers).some((name) => name.startsWith('x-csrf')),
      cookieNames: cookieNames(req.headers.cookie),
      headerNames: Object.keys(req.headers),
    };
    requests.push(record);
    if (requests.length > maxRecorded) requests.shift();
    const answer = (status: number, payload: unknown, headers?: Record<string, string>): void => {
      record.status = status;
      sendJson(res, status, payload, headers);
    };

    if (body === undefined) return answer(413, { error: 'payload_too_large' });
    const presented = accessTokenOf(req.headers.authorization);
    if (presented === undefined) return answer(401, { error: 'missing_token' }, { 'www-authenticate': 'Bearer realm="sample-api"' });
    record.scheme = presented.scheme;
    let introspection: TokenIntrospection;
    try {
      introspection = await options.introspect(presented.token);
    } catch {
      return answer(503, { error: 'introspection_unavailable' }, { 'retry-after': '1' });
    }
    // Only an active access token will do: a refresh token introspects active but is no access
    // token. A DPoP-bound token (cnf.jkt) is accepted only as `DPoP` with a valid proof of its key.
    const jkt = introspection.cnf?.jkt;
    const tokenType = jkt === undefined ? 'bearer' : 'dpop';
    if (!introspection.active || introspection.sub === undefined || introspection.token_type?.toLowerCase() !== tokenType || presented.scheme.toLowerCase() !== tokenType) {
      return answer(401, { error: 'invalid_token' }, { 'www-authenticate': `${presented.scheme} realm="sample-api", error="invalid_token"` });
    }
    if (jkt !== undefined) {
      const verdict = await dpop.check(req, new URL(url.pathname, origin), presented.token, jkt);
      if (!verdict.ok) return answer(401, { error: verdict.error }, { 'www-authenticate': `DPoP realm="sample-api", error="${verdict.error}"`, ...(dpop.requireNonce ? { 'dpop-nonce': dpop.nonce } : {}) });
    }
    record.sub = introspection.sub;

    if (url.pathname === '/events') {
      record.status = 200;
      return sendEvents(res, introspection.sub, eventIntervalMs);
    }
    if (url.pathname === '/slow') {
      const ms = Math.min(Math.max(Number(url.searchParams.get('ms')) || 0, 0), MAX_SLOW_MS);
      const closed = new AbortController();
      res.once('close', () => closed.abort());
      await sleep(ms, undefined, { signal: closed.signal }).catch(() => undefined);
      if (closed.signal.aborted) return;
    }
    const echo: SampleApiEcho = {
      sub: introspection.sub,
      method: record.method,
      path: url.pathname,
      query: queryOf(url),
      bodySha256,
      bodyBytes,
      headers: describeHeaders(req.headers),
    };
    answer(200, echo);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { error: 'internal' });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port ?? 0);
  origin = `http://127.0.0.1:${port}`;
  return {
    url: origin,
    port,
    requests,
    dpop,
    close: () => closeServer(server),
  };
}
