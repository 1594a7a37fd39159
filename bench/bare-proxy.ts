import { Agent, createServer, type Server } from 'node:http';
import { createProxyServer } from 'http-proxy-3';

/**
 * Row (b): a bare http-proxy-3 reverse proxy in front of the upstream, with no authentication at
 * all. It is the yardstick: Tokengate's throughput is reported as a ratio to this one. It uses a
 * keep-alive agent, as Tokengate's proxy does, so neither pays a TCP handshake per request.
 */
export interface BareProxy {
  server: Server;
  close(): void;
}

export function createBareProxy(target: string): BareProxy {
  const agent = new Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 256 });
  const proxy = createProxyServer({ target, agent, xfwd: false });
  proxy.on('error', (_err, _req, res) => {
    // A bare proxy with no listener would crash the process; answer 502 like a real one.
    if ('writeHead' in res && !res.headersSent) {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end('{"error":"upstream unavailable"}');
    } else {
      res.destroy();
    }
  });
  const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => proxy.web(req, res));
  return {
    server,
    close: () => {
      agent.destroy();
      proxy.close();
    },
  };
}
