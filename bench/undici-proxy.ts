import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { Pool } from 'undici';

/**
 * Row (u): the leanest reverse proxy Node offers, as a second yardstick next to http-proxy-3: one
 * undici Pool of keep-alive connections to the upstream, the request's method, path and headers
 * passed on (hop-by-hop ones dropped), the answer streamed back. No auth at all.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'host']);

export interface UndiciProxy {
  server: Server;
  close(): Promise<void>;
}

export function createUndiciProxy(target: string): UndiciProxy {
  const pool = new Pool(target, { connections: 256, pipelining: 1 });
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
    const method = req.method ?? 'GET';
    pool.stream(
      { method: method as 'GET', path: req.url ?? '/', headers: headers as Record<string, string>, body: method === 'GET' || method === 'HEAD' ? null : req },
      ({ statusCode, headers: answer }) => {
        for (const name of Object.keys(answer)) if (HOP_BY_HOP.has(name)) delete answer[name];
        res.writeHead(statusCode, answer as Record<string, string>);
        return res;
      },
      (err) => {
        if (!err) return;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' }).end('{"error":"upstream unavailable"}');
        else res.destroy();
      },
    );
  });
  return { server, close: () => pool.close() };
}
