import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UndiciEngine } from '../../src/proxy/undici-engine.ts';

/**
 * The undici forwarding engine between two real servers on port 0: an upstream whose routes
 * misbehave on purpose, and a front server that forwards every request to it with
 * `UndiciEngine.exchange` (keep-alive pool) and streams the answer back.
 */

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

interface Outcome {
  /** The complete body, or the error the client saw. */
  body?: string;
  error?: string;
}

/** The response head; with `collect`, also the outcome of reading the whole body. */
function get(url: string, collect = true): Promise<{ res: IncomingMessage; outcome: Promise<Outcome> | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, (res) => {
      if (!collect) return resolve({ res, outcome: undefined });
      const chunks: Buffer[] = [];
      const outcome = new Promise<Outcome>((settle) => {
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => settle({ body: Buffer.concat(chunks).toString() }));
        res.on('error', (err) => settle({ error: err.message }));
      });
      resolve({ res, outcome });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('UndiciEngine.exchange', () => {
  let upstream: Server;
  let front: Server;
  let base = '';
  const engine = new UndiciEngine();
  const upstreamResponses: ServerResponse[] = [];
  const settled: string[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      upstreamResponses.push(res);
      if (req.url === '/whole') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 11 });
        res.end('hello world');
      } else if (req.url === '/drip') {
        // One chunk now; the rest never comes unless the test ends it.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
      } else if (req.url === '/dies') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 30);
      }
    });
    const upstreamUrl = await listen(upstream);
    front = createServer((req, res) => {
      const attempt = { upstream: new URL(upstreamUrl), method: 'GET', path: req.url ?? '/', headers: {}, body: null, timeoutMs: 5_000 };
      const client = { req, res, responseHeaders: (headers: object) => ({ ...headers }), onHead: () => undefined };
      engine.exchange(attempt, client, () => true).then(
        () => settled.push(req.url ?? ''),
        () => res.destroy(),
      );
    });
    base = await listen(front);
  });

  afterAll(async () => {
    await engine.close();
    await close(front);
    await close(upstream);
  });

  it('sends status, headers and the whole body, and settles', async () => {
    const { res, outcome } = await get(`${base}/whole`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe('11');
    expect(await outcome).toEqual({ body: 'hello world' });
    await expect.poll(() => settled.includes('/whole')).toBe(true);
  });

  it('a client that goes away mid-body closes the upstream request, and settles', async () => {
    const { res } = await get(`${base}/drip`, false);
    const dripping = upstreamResponses.at(-1)!;
    const first = await new Promise<string>((resolve) => res.once('data', (chunk: Buffer) => resolve(chunk.toString())));
    expect(first).toBe('data: first\n\n');
    const upstreamClosed = new Promise<void>((resolve) => dripping.once('close', () => resolve()));
    res.destroy();
    await upstreamClosed;
    expect(dripping.writableFinished).toBe(false);
    await expect.poll(() => settled.includes('/drip')).toBe(true);
  });

  it('an upstream that dies mid-body cuts the client connection instead of ending the body cleanly', async () => {
    const { res, outcome } = await get(`${base}/dies`);
    expect(res.statusCode).toBe(200);
    const result = (await outcome)!;
    expect(result.body).toBeUndefined();
    expect(result.error).toBeDefined();
    await expect.poll(() => settled.includes('/dies')).toBe(true);
  });
});
