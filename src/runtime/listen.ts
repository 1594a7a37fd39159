import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayError } from '../errors.ts';

/** A failure to come up (store unreachable, port taken): exit code 3, one clear line. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

/** A failure to come up that deserves one clear line and exit code 3. */
export function isStartupFailure(err: unknown): err is Error {
  return err instanceof StartupError || (err instanceof GatewayError && err.code === 'STORE_UNAVAILABLE');
}

export interface HttpListener {
  /** `http://host:port` */
  url: string;
  server: Server;
}

/** An HTTP server for `handler` on host:port (port 0 picks a free one). */
export async function listenHttp(handler: RequestListener, at: { host: string; port: number }): Promise<HttpListener> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { url: urlOf(server), server };
}

export function urlOf(server: Server): string {
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

/** Stops accepting, closes idle keep-alive connections, resolves once the server has closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
