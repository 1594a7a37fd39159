import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { closeServer, listenOnLoopback } from '../../demo/listen.ts';

/**
 * A second real upstream for transport behaviour the sample API has no route for. Routes (after
 * any prefix):
 *   /echo          200 JSON of the headers and body hash it got
 *   /hang          never answers; records when the gateway closes the request
 *   /set-cookie    200 with a Set-Cookie for the gateway's session cookie (also as a nameless
 *                  cookie, `=tg_session=…`) and one of its own
 *   /always-401    401 whatever the token (and records the body hash)
 *   /stream        an event stream: one event now, the next only when `release()` is called
 *   /ws            WebSocket handshake: 101, then one text frame with the headers it got
 *   /ws-set-cookie WebSocket handshake: 101 with one Set-Cookie for the gateway's session cookie
 *                  and one of its own, then the same frame
 *   /ws-refuse     WebSocket handshake refused: 403 with the same two Set-Cookie lines and
 *                  `Cache-Control: public, max-age=600`
 *   /ws-dpop-nonce WebSocket handshake whose DPoP proof must carry `dpopNonce` (RFC 9449
 *                  section 9): else 401 `DPoP error="use_dpop_nonce"` with the nonce in
 *                  `DPoP-Nonce`; with it, as /ws (the proof's signature is not checked here)
 *   /dpop-nonce    200 with `dpopNonce` in `DPoP-Nonce` (how a resource server hands out its nonce)
 *   /cache?cc=&vary=  200 with the given Cache-Control and Vary (each only when given)
 */

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  bodySha256: string;
  bodyBytes: number;
}

export interface TestUpstream {
  url: string;
  seen: SeenRequest[];
  /** Requests to /hang whose connection the gateway closed. */
  hangClosed: number;
  /** The nonce /ws-dpop-nonce wants in handshake proofs; tests may change it. */
  dpopNonce: string;
  /** Sends the second event of every open /stream. */
  release(): void;
  close(): Promise<void>;
}

export async function startTestUpstream(options: { sessionCookie: string }): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const waiting = new Set<() => void>();
  const state = { hangClosed: 0, dpopNonce: 'ws-nonce-1' };
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const record: SeenRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodySha256: createHash('sha256').update(body).digest('hex'),
      bodyBytes: body.length,
    };
    seen.push(record);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path.endsWith('/hang')) {
      res.on('close', () => (state.hangClosed += 1));
      return;
    }
    if (path.endsWith('/set-cookie')) {
      // The nameless cookie: a browser stores `=tg_session=planted` with an empty name and sends it back as `tg_session=planted`.
      res.setHeader('set-cookie', [`${options.sessionCookie}=planted; Path=/`, `=${options.sessionCookie}=planted; Path=/`, 'upstream_pref=1; Path=/']);
      res.end('ok');
      return;
    }
    if (path.endsWith('/cache')) {
      const query = new URL(req.url ?? '/', 'http://x').searchParams;
      if (query.has('cc')) res.setHeader('cache-control', query.get('cc')!);
      if (query.has('vary')) res.setHeader('vary', query.get('vary')!);
      res.end('cached?');
      return;
    }
    if (path.endsWith('/dpop-nonce')) {
      res.writeHead(200, { 'dpop-nonce': state.dpopNonce }).end('ok');
      return;
    }
    if (path.endsWith('/always-401')) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer error="invalid_token"' }).end('{"error":"invalid_token"}');
      return;
    }
    if (path.endsWith('/stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: first\n\n');
      waiting.add(() => res.end('data: second\n\n'));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(record));
  });
  const tunnels = new Set<Socket>();
  server.on('upgrade', (req, socket: Socket) => {
    tunnels.add(socket);
    socket.once('close', () => tunnels.delete(socket));
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodySha256: '', bodyBytes: 0 });
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const cookies = [`Set-Cookie: ${options.sessionCookie}=planted; Path=/`, `Set-Cookie: =${options.sessionCookie}=planted; Path=/`, 'Set-Cookie: upstream_pref=1; Path=/'];
    if (path.endsWith('/ws-refuse')) {
      socket.end(['HTTP/1.1 403 Forbidden', ...cookies, 'Cache-Control: public, max-age=600', 'Content-Length: 2', '', 'no'].join('\r\n'));
      return;
    }
    if (path.endsWith('/ws-dpop-nonce') && proofNonce(req.headers.dpop) !== state.dpopNonce) {
      const challenge = ['WWW-Authenticate: DPoP error="use_dpop_nonce"', `DPoP-Nonce: ${state.dpopNonce}`];
      socket.end(['HTTP/1.1 401 Unauthorized', ...challenge, 'Content-Length: 2', '', 'no'].join('\r\n'));
      return;
    }
    const extra = path.endsWith('/ws-set-cookie') ? cookies : [];
    socket.write(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${accept}`, ...extra, '', ''].join('\r\n'));
    socket.write(textFrame(JSON.stringify({ url: req.url, headers: req.headers })));
    socket.on('error', () => socket.destroy());
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    get hangClosed() {
      return state.hangClosed;
    },
    get dpopNonce() {
      return state.dpopNonce;
    },
    set dpopNonce(nonce: string) {
      state.dpopNonce = nonce;
    },
    release() {
      for (const send of waiting) send();
      waiting.clear();
    },
    close() {
      for (const socket of tunnels) socket.destroy();
      return closeServer(server);
    },
  };
}

/** The `nonce` claim of a DPoP proof header (its payload read, not verified). */
function proofNonce(proof: string | string[] | undefined): unknown {
  if (typeof proof !== 'string') return undefined;
  try {
    return (JSON.parse(Buffer.from(proof.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>)['nonce'];
  } catch {
    return undefined;
  }
}

/** One unmasked server-to-client text frame (RFC 6455), for payloads under 64 KiB. */
export function textFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const header = payload.length < 126 ? Buffer.from([0x81, payload.length]) : Buffer.from([0x81, 126, payload.length >> 8, payload.length & 0xff]);
  return Buffer.concat([header, payload]);
}

/** Reads the payload of one unmasked text frame (under 64 KiB) from the start of `data`. */
export function readTextFrame(data: Buffer): string | undefined {
  if (data.length < 2) return undefined;
  const short = data[1]! & 0x7f;
  const [offset, length] = short === 126 ? [4, data.readUInt16BE(2)] : [2, short];
  if (data.length < offset + length) return undefined;
  return data.subarray(offset, offset + length).toString('utf8');
}
