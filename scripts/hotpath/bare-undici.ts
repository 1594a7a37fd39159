import { createServer, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { closeServer, listenLoopback } from '../../bench/listen.ts';
import { serveChild } from '../../bench/children/protocol.ts';

/**
 * A bare undici reverse proxy (one `Pool` to the upstream, no auth, hop-by-hop headers dropped),
 * the second yardstick of scripts/hotpath/measure.ts beside the bare http-proxy-3 of bench/.
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const name in headers) if (!HOP_BY_HOP.has(name)) out[name] = headers[name];
  return out;
}

serveChild(async (init) => {
  const { target } = init as { target: string };
  const pool = new Pool(target, { connections: 256 });
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    pool
      .request({ path: req.url ?? '/', method: req.method as 'GET', headers: endToEnd(req.headers) as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req })
      .then((answer) => {
        res.writeHead(answer.statusCode, endToEnd(answer.headers));
        answer.body.pipe(res);
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
        res.end('{"error":"upstream unavailable"}');
      });
  });
  const port = await listenLoopback(server);
  return {
    port,
    close: async () => {
      await closeServer(server);
      await pool.close();
    },
  };
});
