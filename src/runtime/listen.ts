import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
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

/**
 * A listener that could not bind, as one line that says what to change: `setting` is where its
 * address is configured (`listen.port`, `ops.port`, ...). EADDRINUSE usually means another
 * Tokengate still runs, or is still draining, on the same ports.
 */
function cannotListen(name: string, at: { host: string; port: number }, setting: string, err: NodeJS.ErrnoException): StartupError {
  const code = err.code ?? err.message;
  const hint =
    code === 'EADDRINUSE'
      ? `the address is in use (is another Tokengate still running or draining there?); stop it, or give this one another port with ${setting}`
      : code === 'EACCES'
        ? `not allowed to bind there; choose another port (${setting})`
        : `check ${setting}`;
  return new StartupError(`cannot listen on ${at.host}:${at.port} (${name} listener, ${setting}): ${code}: ${hint}`, { cause: err });
}

export interface HttpListener {
  /** `http://host:port` */
  url: string;
  server: Server;
}

/** What a stranger may make one listener hold (config `server`). */
export interface ServerLimits {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  maxConnections: number;
}

/**
 * An HTTP server for `handler` on host:port (port 0 picks a free one). With `limits`: a request
 * head not complete within headersTimeout (a slowloris) or a request not complete within
 * requestTimeout is answered 408 and its connection closed; connections past maxConnections
 * are closed as soon as they are accepted. Node checks the two timeouts every
 * `connectionsCheckingInterval`, here a fraction of headersTimeout (at most 1 s), so a stalled
 * client is cut off close to the configured time, not up to 30 s later.
 */
export async function listenHttp(handler: RequestListener, at: { host: string; port: number }, limits?: ServerLimits): Promise<HttpListener> {
  const server = limits === undefined
    ? createServer(handler)
    : createServer(
        {
          headersTimeout: limits.headersTimeout,
          requestTimeout: limits.requestTimeout,
          keepAliveTimeout: limits.keepAliveTimeout,
          connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeout / 4))),
        },
        handler,
      );
  if (limits !== undefined) server.maxConnections = limits.maxConnections;
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

/** What closeServer needs of a `node:http` Server. */
export interface ClosableServer {
  readonly listening: boolean;
  close(callback: () => void): unknown;
  closeIdleConnections(): void;
}

/** Stops accepting, closes idle keep-alive connections, resolves once the server has closed. */
export function closeServer(server: ClosableServer): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

export type ListenerName = 'main' | 'ops' | 'forward-auth';

/**
 * A listener the gateway wants (Gateway.listeners): the runtime binds it (bindListener) and
 * puts it under the gateway's shutdown.
 */
export interface ListenerSpec {
  readonly name: ListenerName;
  readonly handler: RequestListener;
  readonly at: { host: string; port: number };
  /** Where `at` is configured, for the message when it cannot be bound. */
  readonly setting: string;
  /** WebSocket handshakes (the server's 'upgrade' event). */
  readonly upgrade?: (req: IncomingMessage, socket: Socket, head: Buffer) => void;
  /** What a stranger may make it hold (config `server`). */
  readonly limits?: ServerLimits;
  /** Not drained at shutdown: it answers until the end (ops: probes and scrapes). */
  readonly keep?: boolean;
}

/**
 * Binds `spec` (on `at` instead of its configured address when given). A port that cannot be
 * bound is a StartupError naming the setting to change.
 */
export async function bindListener(spec: ListenerSpec, at: { host?: string; port?: number } = {}): Promise<HttpListener> {
  const where = { host: at.host ?? spec.at.host, port: at.port ?? spec.at.port };
  try {
    const listener = await listenHttp(spec.handler, where, spec.limits);
    if (spec.upgrade) listener.server.on('upgrade', spec.upgrade);
    return listener;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw cannotListen(spec.name, where, spec.setting, err as NodeJS.ErrnoException);
    throw err;
  }
}
