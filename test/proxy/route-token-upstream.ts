import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { decodeJwt } from 'jose';
import { closeServer, listenOnLoopback } from '../../demo/listen.ts';

/**
 * An API upstream for per-route tokens: it records the bearer of every request and the `aud` of
 * that bearer when it is a JWT, and answers 200 with what it saw. A path ending in
 * `/reject-first` answers 401 to the first bearer it sees there (one that expired early at the
 * API, say) and 200 to any other. A WebSocket handshake is recorded the same way and answered 101.
 */

export interface SeenBearer {
  path: string;
  token: string;
  /** The JWT's `aud` (as a list), or undefined for an opaque token. */
  aud: string[] | undefined;
}

export interface RouteTokenUpstream {
  url: string;
  seen: SeenBearer[];
  close(): Promise<void>;
}

function audienceOf(token: string): string[] | undefined {
  try {
    const { aud } = decodeJwt(token);
    return aud === undefined ? [] : Array.isArray(aud) ? aud : [aud];
  } catch {
    return undefined;
  }
}

export async function startRouteTokenUpstream(): Promise<RouteTokenUpstream> {
  const seen: SeenBearer[] = [];
  let rejected: string | undefined;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const record = { path, token, aud: audienceOf(token) };
    seen.push(record);
    req.resume();
    if (path.endsWith('/reject-first') && (rejected === undefined || rejected === token)) {
      rejected = token;
      res.writeHead(401, { 'www-authenticate': 'Bearer error="invalid_token"' }).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ path, aud: record.aud }));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    seen.push({ path: new URL(req.url ?? '/', 'http://x').pathname, token, aud: audienceOf(token) });
    const accept = createHash('sha1').update(`${String(req.headers['sec-websocket-key'])}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.on('error', () => undefined);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.end();
  });
  const port = await listenOnLoopback(server);
  return { url: `http://127.0.0.1:${port}`, seen, close: () => closeServer(server) };
}
