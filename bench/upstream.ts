import { createServer, type Server } from 'node:http';

/**
 * The upstream every row measures against: a minimal node:http server that answers every request
 * with the same small JSON body, keeps connections alive, and counts how many requests carried an
 * access token, `Bearer` or `DPoP` with its proof (so the benchmark can check that the gateway
 * really attached one).
 */
export interface UpstreamCounts {
  requests: number;
  withBearer: number;
  /** TCP connections accepted: a keep-alive proxy opens few. */
  connections: number;
}

export interface Upstream {
  server: Server;
  counts(): UpstreamCounts;
}

const BODY = Buffer.from(JSON.stringify({ ok: true, items: [1, 2, 3], message: 'hello from the bench upstream' }));

export function createUpstream(): Upstream {
  const counts: UpstreamCounts = { requests: 0, withBearer: 0, connections: 0 };
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    counts.requests += 1;
    const authorization = req.headers.authorization;
    if (authorization?.startsWith('Bearer ') || (authorization?.startsWith('DPoP ') && req.headers.dpop !== undefined)) counts.withBearer += 1;
    // Drain any body, then answer; a GET has none, so 'end' comes at once.
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
      res.end(BODY);
    });
  });
  server.on('connection', () => {
    counts.connections += 1;
  });
  return { server, counts: () => ({ ...counts }) };
}
