import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createGateway, type Gateway, type GatewayDeps, type ListeningGateway } from '../app.ts';
import { loadConfig, type Config } from '../config/index.ts';
import { ConfigError, GatewayError } from '../errors.ts';
import { listenForwardAuth, type ForwardAuthListener } from '../forward-auth/index.ts';
import { ExitCode, type Command, type CommandIo } from './commands.ts';

/**
 * `tokengate start --config FILE`: the gateway on its listeners.
 *
 * - main (`listen`): the browser-facing app;
 * - ops (`ops`): /healthz, /readyz, /metrics;
 * - forward-auth (`forwardAuth.listen`), when forward-auth is enabled with its own listener.
 *
 * Before listening it checks that the store answers (exit 3 when it does not) and runs provider
 * discovery (a provider that cannot be reached is retried on first use). SIGTERM or SIGINT
 * closes every listener and the store, then the command returns 0.
 */

export interface RunningGateway {
  gateway: Gateway;
  main: ListeningGateway;
  ops: { url: string; server: Server };
  forwardAuth: ForwardAuthListener | undefined;
  close(): Promise<void>;
}

/** A failure to come up (store unreachable, port taken): exit code 3, one clear line. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

export async function runGateway(config: Config, deps: GatewayDeps = {}): Promise<RunningGateway> {
  const gateway = createGateway(config, deps);
  const closers: Array<() => Promise<void>> = [() => gateway.close()];
  const close = async () => {
    for (const closer of closers.reverse()) await closer();
    closers.length = 0;
  };
  try {
    try {
      await gateway.store.ping();
    } catch (err) {
      throw new StartupError(`the ${config.store.type} store does not answer`, { cause: err });
    }
    await gateway.start();

    const main = await listening('main', `${config.listen.host}:${config.listen.port}`, () => gateway.listen());
    closers.push(() => main.close());
    const ops = await listening('ops', `${config.ops.host}:${config.ops.port}`, () => serve(gateway.ops.callback(), config.ops));
    closers.push(() => closeServer(ops.server));

    let forwardAuth: ForwardAuthListener | undefined;
    const fa = config.forwardAuth;
    if (fa.enabled && fa.listen !== undefined) {
      // The gateway's own TokenService: one single-flight refresh per session for proxy and verify alike.
      const forwardAuthDeps = {
        config,
        store: gateway.store,
        cookies: gateway.cookies,
        tokens: gateway.tokens,
        logger: gateway.logger,
        metrics: gateway.metrics,
        now: deps.now ?? Date.now,
      };
      forwardAuth = await listening('forward-auth', `${fa.listen.host}:${fa.listen.port}`, () => listenForwardAuth(forwardAuthDeps));
      closers.push(() => forwardAuth!.close());
    }

    gateway.logger.info(
      {
        main: main.url,
        ops: ops.url,
        ...(forwardAuth ? { forwardAuth: `${forwardAuth.url}${fa.path}` } : {}),
        publicOrigin: config.publicOrigin,
        store: config.store.type,
      },
      'Tokengate listening',
    );
    return { gateway, main, ops, forwardAuth, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

async function listening<T>(name: string, where: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new StartupError(`cannot listen on ${where} (${name} listener): ${code}`, { cause: err });
    }
    throw err;
  }
}

async function serve(handler: Parameters<typeof createServer>[1], at: { host: string; port: number }): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, server };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** Resolves on the first SIGTERM or SIGINT. */
export function shutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** Runs until a signal, then closes; the exit code for a start failure otherwise. */
export async function serveUntilSignal(
  config: Config,
  io: CommandIo,
  deps: GatewayDeps = {},
  onListening?: (running: RunningGateway) => void,
): Promise<number> {
  let running: RunningGateway;
  try {
    running = await runGateway(config, deps);
  } catch (err) {
    if (err instanceof StartupError || (err instanceof GatewayError && err.code === 'STORE_UNAVAILABLE')) {
      io.err(`tokengate: ${err.message}`);
      return ExitCode.runtime;
    }
    throw err;
  }
  onListening?.(running);
  const signal = await shutdownSignal();
  running.gateway.logger.info({ signal }, 'shutting down');
  await running.close();
  return ExitCode.ok;
}

export const startCommand: Command = {
  name: 'start',
  summary: 'run the gateway from a configuration file',
  usage: `Usage: tokengate start --config FILE

Loads FILE (with the environment overrides listed in config/gateway.example.yaml),
checks that the store answers, and listens on:
  listen              the browser-facing gateway
  ops                 /healthz, /readyz and /metrics
  forwardAuth.listen  the forward-auth verify endpoint, when enabled with its own listener
SIGTERM or SIGINT closes the listeners and the store.

Exit codes: 0 after a signal, 1 invalid configuration, 2 wrong usage,
3 the store does not answer or a port cannot be bound.`,
  async run(args, io) {
    const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } }, strict: true });
    if (values.help) {
      io.out(this.usage);
      return ExitCode.ok;
    }
    if (values.config === undefined) {
      io.err('tokengate start: --config FILE is required');
      return ExitCode.usage;
    }
    let config: Config;
    try {
      config = loadConfig({ file: values.config, env: io.env });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      io.err(`${values.config}: ${err.message}`);
      return ExitCode.configInvalid;
    }
    return serveUntilSignal(config, io);
  },
};
