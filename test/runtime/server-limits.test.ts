import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/app.ts';
import { configSchema, type ConfigInput } from '../../src/config/schema.ts';
import { createLogger, createMetrics } from '../../src/observability/index.ts';

/**
 * What a stranger can make a listener hold (config `server`): a slowloris trickling its request
 * head is cut off by headersTimeout, close to the configured time; connections past
 * maxConnections are closed at once, and a place frees when a connection ends.
 */

let gateway: Gateway | undefined;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await gateway?.close({ graceMs: 0 });
  gateway = undefined;
});

async function listen(server: ConfigInput['server']): Promise<{ host: string; port: number }> {
  const config = configSchema.parse({
    publicOrigin: 'http://127.0.0.1:8080',
    keys: { encryption: [{ kid: 'k1', key: randomBytes(32).toString('base64url') }], cookie: [randomBytes(32).toString('base64url')] },
    providers: [{ id: 'op', type: 'oidc', issuer: 'http://127.0.0.1:9/', clientId: 'tokengate', clientSecret: 'secret' }],
    server,
    logging: { level: 'silent' },
  } satisfies ConfigInput);
  gateway = createGateway(config, { logger: createLogger({ level: 'silent' }), metrics: createMetrics({ defaultMetrics: false }) });
  const listening = await gateway.listen({ host: '127.0.0.1', port: 0 });
  const url = new URL(listening.url);
  return { host: url.hostname, port: Number(url.port) };
}

async function open(at: { host: string; port: number }): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const socket = connect(at.port, at.host);
  sockets.push(socket);
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const started = performance.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - started)));
  await once(socket, 'connect');
  return { socket, received: () => received, closed };
}

/** Resolves with `promise`'s value, or with 'still open' after `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still open'> {
  return Promise.race([promise, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms))]);
}

describe('server.headersTimeout ends a slowloris', () => {
  it('a request head trickled one header every 300 ms is answered 408 and closed about headersTimeout (1 s) after it began', async () => {
    const at = await listen({ headersTimeout: '1s', requestTimeout: '5s' });
    const client = await open(at);
    client.socket.write('GET /auth/session HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => client.socket.writable && client.socket.write(`X-Slow-${Date.now()}: 1\r\n`), 300);
    try {
      const closedAfter = await within(client.closed, 5_000);
      expect(closedAfter).not.toBe('still open');
      expect(closedAfter as number).toBeGreaterThanOrEqual(900);
      expect(closedAfter as number).toBeLessThan(2_500);
      expect(client.received()).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      clearInterval(trickle);
    }
  });

  it('a client that sends its head in time is served as usual', async () => {
    const at = await listen({ headersTimeout: '1s', requestTimeout: '5s' });
    const client = await open(at);
    client.socket.write('GET /auth/session HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    await client.closed;
    expect(client.received()).toMatch(/^HTTP\/1\.1 401 /);
  });
});

describe('server.maxConnections', () => {
  it('past the limit a new connection is closed at once without an answer; when one ends, the next is served', async () => {
    const at = await listen({ maxConnections: 5 });
    const held = [];
    for (let index = 0; index < 5; index += 1) held.push(await open(at));

    const refused = await open(at);
    refused.socket.write('GET /auth/session HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const closedAfter = await within(refused.closed, 2_000);
    expect(closedAfter).not.toBe('still open');
    expect(closedAfter as number).toBeLessThan(1_000);
    expect(refused.received()).toBe('');

    held[0]!.socket.destroy();
    await held[0]!.closed;
    // The server hears of the close asynchronously: retry briefly.
    let served = '';
    for (let attempt = 0; attempt < 20 && served === ''; attempt += 1) {
      const next = await open(at);
      next.socket.write('GET /auth/session HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
      await next.closed;
      served = next.received();
      if (served === '') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(served).toMatch(/^HTTP\/1\.1 401 /);
  });
});
