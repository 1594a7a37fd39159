import { createGateway, type Gateway, type GatewayDeps, type ListeningGateway } from '../app.ts';
import type { Config } from '../config/index.ts';
import { listenForwardAuth, type ForwardAuthListener } from '../forward-auth/index.ts';
import { storeLocation } from '../config/store-target.ts';
import { GatewayError } from '../errors.ts';
import { cannotListen, closeServer, listenHttp, StartupError, type HttpListener } from './listen.ts';
import { KeyReload, type KeyReloadSource } from './key-reload.ts';
import { exitBySignal, shutdownTrigger, type ShutdownSignal, type ShutdownTrigger } from './signals.ts';

/**
 * One gateway process on its listeners:
 *
 * - main (`listen`): the browser-facing app;
 * - ops (`ops`): /healthz, /readyz, /metrics (not in a cluster worker: the primary serves it);
 * - forward-auth (`forwardAuth.listen`), when forward-auth is enabled with its own listener.
 *
 * Before listening it checks that the store answers (StartupError when it does not) and runs
 * provider discovery (a provider that cannot be reached is retried by /readyz and on first use).
 */

export interface RunningGateway {
  gateway: Gateway;
  main: ListeningGateway;
  /** Undefined in a cluster worker. */
  ops: HttpListener | undefined;
  forwardAuth: ForwardAuthListener | undefined;
  /** Key reloads (SIGHUP, secret files), when serveUntilSignal was given `reload`. */
  keyReload?: KeyReload;
  /** Graceful shutdown (Gateway.close), then the ops listener closes. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export interface RunOptions {
  /** Open the ops listener. Default true; a cluster worker leaves it to the primary. */
  ops?: boolean;
  /** The startup log line. Default 'Tokengate listening'. */
  message?: string;
  /** Extra fields for the startup log line (a worker's id). */
  fields?: Record<string, unknown>;
}

export async function runGateway(config: Config, deps: GatewayDeps = {}, options: RunOptions = {}): Promise<RunningGateway> {
  const gateway = createGateway(config, deps);
  let ops: HttpListener | undefined;
  const close = async (closeOptions: { graceMs?: number } = {}) => {
    await gateway.close(closeOptions);
    if (ops !== undefined) await closeServer(ops.server);
  };
  try {
    await checkStore(gateway, config);
    await gateway.start();

    const main = await listening('main', config.listen, 'listen.port (tokengate dev: --port)', () => gateway.listen());
    if (options.ops ?? true) {
      ops = await listening('ops', config.ops, 'ops.port', () => listenHttp(gateway.ops.callback(), config.ops));
    }

    let forwardAuth: ForwardAuthListener | undefined;
    const fa = config.forwardAuth;
    if (fa.enabled && fa.listen !== undefined) {
      // The gateway's own TokenService: one single-flight refresh per session for proxy and verify alike.
      const forwardAuthDeps = {
        // The gateway's view: its forward-auth secret follows key reloads.
        config: gateway.config,
        store: gateway.store,
        cookies: gateway.cookies,
        tokens: gateway.tokens,
        logger: gateway.logger,
        metrics: gateway.metrics,
        now: deps.now ?? Date.now,
      };
      forwardAuth = await listening('forward-auth', fa.listen, 'forwardAuth.listen.port', () => listenForwardAuth(forwardAuthDeps, { limits: config.server }));
      gateway.attach(forwardAuth.server);
    }

    gateway.logger.info(
      {
        ...options.fields,
        main: main.url,
        ...(ops ? { ops: ops.url } : {}),
        ...(forwardAuth ? { forwardAuth: `${forwardAuth.url}${fa.path}` } : {}),
        publicOrigin: config.publicOrigin,
        store: config.store.type,
      },
      options.message ?? 'Tokengate listening',
    );
    return { gateway, main, ops, forwardAuth, close };
  } catch (err) {
    await close({ graceMs: 0 }).catch(() => undefined);
    throw err;
  }
}

/**
 * The store must answer, and as configured: when the URL selects a database, a reply error while
 * the connection was set up (a SELECT of a database the server does not have) fails the start
 * even though PING answers, since the client would otherwise work on database 0. The message names the
 * store (no credentials) and the cause (errno or the server's reply).
 */
async function checkStore(gateway: Gateway, config: Config): Promise<void> {
  const where = config.store.type === 'memory' ? '' : ` (${storeLocation(config.store)})`;
  try {
    await gateway.store.ping();
  } catch (err) {
    const cause = gateway.lastStoreConnectionError() ?? err;
    throw new StartupError(`the ${config.store.type} store does not answer${where}: ${causeText(cause)}`, { cause: err });
  }
  // Only when the URL selects a database: some managed Redis services refuse CLIENT SETNAME at
  // connect, which is harmless; a refused SELECT is not.
  const db = config.store.type === 'redis' && config.store.redis.url !== undefined ? new URL(config.store.redis.url).pathname.slice(1) : '';
  const setup = gateway.lastStoreConnectionError();
  if (db !== '' && db !== '0' && setup?.name === 'ReplyError') {
    const hint = ` (database ${db}: the server has fewer; see its \`databases\` setting, or use 0-15 on a default server)`;
    throw new StartupError(`the ${config.store.type} store refused the connection setup${where}: ${causeText(setup)}${hint}`, { cause: setup });
  }
}

/** An error's message when it is a connection error (no secrets in those), else its name and code. */
function causeText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // A GatewayError's own code (STORE_UNAVAILABLE) says nothing new: its cause says why.
  const source = err instanceof GatewayError && err.cause instanceof Error ? err.cause : err;
  const code = (source as { code?: unknown }).code;
  return typeof code === 'string' && !source.message.includes(code) ? `${source.message} (${code})` : source.message;
}

async function listening<T>(name: string, at: { host: string; port: number }, setting: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw cannotListen(name, at, setting, err as NodeJS.ErrnoException);
    throw err;
  }
}

export interface ServeOptions extends RunOptions {
  deps?: GatewayDeps;
  /** Called once every listener is up. */
  onListening?: (running: RunningGateway) => void;
  /** Resolves when something other than a signal asks for shutdown (a cluster primary). */
  stop?: Promise<string>;
  /** A second signal during shutdown: exit now. Default: `process.exit(128 + signal number)`. */
  onForce?: (signal: ShutdownSignal) => void;
  /** Whether a signal during shutdown forces the exit. Default: every one does. */
  forces?: (signal: ShutdownSignal) => boolean;
  /** The process's signal handling when the caller installed it already (src/cli.ts); else one is made here. */
  trigger?: ShutdownTrigger;
  /** Where the keys come from: reloaded on SIGHUP and when a secret file changes (key-reload.ts). */
  reload?: KeyReloadSource;
}

/**
 * Runs until SIGTERM or SIGINT (or `stop`), then shuts down gracefully within
 * `config.shutdown.grace`; a second signal exits at once. Resolves once everything is closed;
 * rejects with a startup failure (see isStartupFailure) when the gateway cannot come up.
 */
export async function serveUntilSignal(config: Config, options: ServeOptions = {}): Promise<void> {
  let running: RunningGateway | undefined;
  const trigger = options.trigger ?? shutdownTrigger();
  trigger.onForce((signal) => {
    running?.gateway.logger.warn({ signal }, 'second signal during shutdown: exiting now');
    (options.onForce ?? exitBySignal)(signal);
  }, options.forces);
  void options.stop?.then((reason) => trigger.begin(reason));
  try {
    running = await runGateway(config, options.deps, options);
  } catch (err) {
    trigger.dispose();
    throw err;
  }
  const keyReload = options.reload && startKeyReload(running, options.reload);
  options.onListening?.(running);
  const reason = await trigger.started;
  keyReload?.();
  running.gateway.logger.info({ reason, graceMs: config.shutdown.grace }, 'shutting down');
  try {
    await running.close();
  } finally {
    trigger.dispose();
  }
  running.gateway.logger.info('shut down');
}

/** Reloads keys on SIGHUP and on secret-file changes; returns the function that stops it. */
function startKeyReload(running: RunningGateway, source: KeyReloadSource): () => void {
  const { gateway } = running;
  const reload = new KeyReload(source, gateway);
  running.keyReload = reload;
  const onHangup = () => void reload.reload('SIGHUP');
  process.on('SIGHUP', onHangup);
  reload.watch();
  return () => {
    process.off('SIGHUP', onHangup);
    reload.close();
  };
}
