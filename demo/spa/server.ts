import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { closeServer, listenOnLoopback } from '../listen.ts';

/**
 * The demo SPA's static files, served from 127.0.0.1 for the gateway's public `/` route. Only
 * the three files of the page are served (an allowlist, no path from the request touches the
 * file system); any other path gets index.html, as an SPA's history routing expects.
 */

const FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
};

const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export interface SpaServerHandle {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startSpaServer(options: { port?: number } = {}): Promise<SpaServerHandle> {
  const directory = new URL('./', import.meta.url);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const entry = FILES[path] ?? FILES['/']!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    readFile(new URL(entry.file, directory)).then(
      (body) => {
        res.writeHead(200, {
          'content-type': entry.type,
          'content-length': body.length,
          'cache-control': 'no-cache',
          'content-security-policy': CSP,
          'x-content-type-options': 'nosniff',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => res.writeHead(500).end(),
    );
  });
  const port = await listenOnLoopback(server, options.port ?? 0);
  return { url: `http://127.0.0.1:${port}`, port, close: () => closeServer(server) };
}
