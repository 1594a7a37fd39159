import type { Server } from 'node:http';
import type { Config } from '../config/index.ts';
import { storeLocation } from '../config/store-target.ts';
import { GatewayError } from '../errors.ts';
import type { Metrics, Readiness } from '../observability/index.ts';
import { KeyReload, type KeyReloadSource, type KeyReloadTarget } from './key-reload.ts';
import { bindListener, StartupError, type ListenerName, type ListenerSpec } from './listen.ts';
import { exitBySignal, shutdownTrigger, type ShutdownSignal, type ShutdownTrigger } from './signals.ts';

/**
 * One gateway process: the gateway built by the factory the command line hands in (src/cli
 * passes createGateway; the runtime never imports src/app.ts), on the listeners it names:
 *
 * - main (`listen`): the browser-facing app;
 * - ops (`ops`): /healthz, /readyz, /metrics (not in a cluster worker: the primary serves it);
 * - forward-auth (`forwardAuth.listen`), when forward-auth is enabled with its own listener.
 *
 * Before listening it checks that the store answers (StartupError when it does not) and runs
 * provider discovery (a provider that cannot be reached is retried by /readyz and on first use).
 * Then it serves until SIGTERM or SIGINT (or `stop`) and shuts the gateway down gracefully
 * (src/runtime/shutdown.ts); a second signal exits at once.
 */

/** What the runtime needs of a gateway; src/gateway.ts's Gateway extends it. */
export interface ServedGateway extends KeyReloadTarget {
  /** The listeners it wants bound. */
  readonly listeners: readonly ListenerSpec[];
  readonly store: { ping(): Promise<unknown> };
  readonly metrics: Pick<Metrics, 'registry'>;
  readonly readiness: Readiness;
  /** The store client's last connection-level error, if any. */
  lastStoreConnectionError(): Error | undefined;
  /** Provider discovery. */
  start(): Promise<void>;
  /** Puts a bound listener under close's shutdown (`keep`: answers until the end, for ops). */
  attach(server: Server, options?: { keep?: boolean }): void;
  /** Graceful shutdown (src/runtime/shutdown.ts); the same promise when called again. */
  close(options?: { graceMs?: number; reason?: string }): Promise<void>;
}

export type GatewayFactory = (config: Config) => ServedGateway;

export interface Serving {
  gateway: ServedGateway;
  /** The URL of each bound listener. */
  urls: Partial<Record<ListenerName, string>>;
  /** Key reloads (SIGHUP, secret files), when serve was given `reload`. */
  keyReload: KeyReload | undefined;
}

export interface ServeOptions {
  create: GatewayFactory;
  /** In a cluster worker: its id. The ops listener is left to the primary. */
  workerId?: number;
  /** Called once every listener is up. */
  onListening?: (serving: Serving) => void;
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
 * Builds the gateway, brings it up and serves until a shutdown request; resolves once
 * everything is closed. Rejects with a startup failure (see isStartupFailure) when the gateway
 * cannot come up.
 */
export async function serve(config: Config, options: ServeOptions): Promise<void> {
  const trigger = options.trigger ?? shutdownTrigger();
  let gateway: ServedGateway | undefined;
  trigger.onForce((signal) => {
    gateway?.logger.warn({ event: 'shutdown_forced', signal }, 'second signal during shutdown: exiting now');
    (options.onForce ?? exitBySignal)(signal);
  }, options.forces);
  void options.stop?.then((reason) => trigger.begin(reason));
  const urls: Serving['urls'] = {};
  try {
    gateway = options.create(config);
    await checkStore(gateway, config);
    await gateway.start();
    for (const spec of gateway.listeners) {
      if (spec.name === 'ops' && options.workerId !== undefined) continue;
      const { url, server } = await bindListener(spec);
      gateway.attach(server, { keep: spec.keep ?? false });
      urls[spec.name] = url;
    }
  } catch (err) {
    await gateway?.close({ graceMs: 0, reason: 'startup failed' }).catch(() => undefined);
    trigger.dispose();
    throw err;
  }
  const { logger } = gateway;
  const worker = options.workerId !== undefined;
  logger.info(
    {
      event: worker ? 'worker_listening' : 'listening',
      ...(worker ? { worker: options.workerId } : {}),
      main: urls.main,
      ...(urls.ops ? { ops: urls.ops } : {}),
      ...(urls['forward-auth'] ? { forwardAuth: `${urls['forward-auth']}${config.forwardAuth.path}` } : {}),
      publicOrigin: config.publicOrigin,
      store: config.store.type,
    },
    worker ? 'worker listening' : 'Tokengate listening',
  );

  // Keys reload on SIGHUP and on secret-file changes.
  const keyReload = options.reload && new KeyReload(options.reload, gateway);
  const onHangup = () => void keyReload?.reload('SIGHUP');
  if (keyReload) {
    process.on('SIGHUP', onHangup);
    keyReload.watch();
  }
  options.onListening?.({ gateway, urls, keyReload });
  const reason = await trigger.started;
  process.off('SIGHUP', onHangup);
  keyReload?.close();
  try {
    await gateway.close({ reason });
  } finally {
    trigger.dispose();
  }
}

/**
 * The store must answer, and as configured: when the URL selects a database, a reply error while
 * the connection was set up (a SELECT of a database the server does not have) fails the start
 * even though PING answers, since the client would otherwise work on database 0. The message names the
 * store (no credentials) and the cause (errno or the server's reply).
 */
async function checkStore(gateway: ServedGateway, config: Config): Promise<void> {
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
