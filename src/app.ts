import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Middleware } from 'koa';
import type { Logger } from 'pino';
import { createAuthRouter } from './auth/router.ts';
import { Revoker, type RevokerOptions } from './auth/revoker.ts';
import type { Config } from './config/schema.ts';
import { Keyring } from './crypto/keyring.ts';
import { NotFoundError } from './errors.ts';
import { forwardAuthOnMainListener } from './forward-auth/index.ts';
import { errorHandler } from './http/error-handler.ts';
import { securityHeaders } from './http/security-headers.ts';
import { accessLog, createLogger, createMetrics, createOpsApp, createReadiness, instrumentStore, type Metrics, type Readiness } from './observability/index.ts';
import { createProviders } from './providers/index.ts';
import { createProxy, sessionsViaMiddleware } from './proxy/index.ts';
import type { Provider } from './providers/types.ts';
import { cookieKeys, createCookies, type GatewayCookies } from './session/cookies.ts';
import { loadSession } from './session/load-session.ts';
import { createStore } from './store/index.ts';
import type { Store } from './store/types.ts';
import { TokenService } from './tokens/index.ts';

/**
 * The composition root: everything is built here from the validated config, nothing at import
 * time. The middleware chain reads top to bottom in `createGateway`.
 */

export interface GatewayDeps {
  /** A store to use instead of the one config names; the caller closes it. */
  store?: Store;
  /** Providers to use instead of building them from config. */
  providers?: Map<string, Provider>;
  logger?: Logger;
  /** Tests that build many gateways pass `createMetrics({ defaultMetrics: false })`. */
  metrics?: Metrics;
  /** Clock, epoch ms. */
  now?: () => number;
  /** Background revocation retries (tests shorten the delays). */
  revocation?: Omit<RevokerOptions, 'logger'>;
}

export interface ListeningGateway {
  /** `http://host:port` */
  url: string;
  server: Server;
  close(): Promise<void>;
}

export interface Gateway {
  readonly app: Koa;
  readonly config: Config;
  readonly store: Store;
  readonly providers: ReadonlyMap<string, Provider>;
  readonly keyring: Keyring;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Readiness probe (store reachable, not draining). */
  readonly readiness: Readiness;
  /** The operations app (/metrics, /healthz, /readyz) for the `ops` listener. */
  readonly ops: Koa;
  readonly cookies: GatewayCookies;
  readonly revoker: Revoker;
  /** The only code that refreshes or writes tokens. */
  readonly tokens: TokenService;
  /** Provider discovery. A provider that cannot be reached is retried on its first use. */
  start(): Promise<void>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  /** Listens on config.listen (or the given host/port; port 0 picks a free one). */
  listen(options?: { host?: string; port?: number }): Promise<ListeningGateway>;
  /** Closes the listeners, stops revocation retries and closes the store if it built it. */
  close(): Promise<void>;
}

export function createGateway(config: Config, deps: GatewayDeps = {}): Gateway {
  const now = deps.now ?? Date.now;
  const logger = deps.logger ?? createLogger(config.logging);
  const metrics = deps.metrics ?? createMetrics();
  const ownsStore = deps.store === undefined;
  const rawStore = deps.store ?? createStore(config.store, { now, onConnectionError: (err) => logger.warn({ err }, 'store connection error') });
  const store = instrumentStore(rawStore, metrics);
  const providers = deps.providers ?? createProviders(config.providers, { now });
  const keyring = new Keyring(config.keys.encryption);
  const keys = cookieKeys(config.keys.cookie);
  const cookies = createCookies(config, keys);
  const revoker = new Revoker({ logger, metrics, ...deps.revocation });
  const readiness = createReadiness({ checks: [{ name: 'store', check: () => store.ping() }] });
  const ops = createOpsApp({ metrics, readiness });

  if (cookies.policy.plainHttp) {
    logger.warn(
      { publicOrigin: config.publicOrigin },
      'plain-http public origin (loopback development only): cookies are not Secure and have no __Host- prefix',
    );
  }

  const auth = createAuthRouter({ config, store, providers, keyring, cookies, revoker, logger, now });

  // The reverse proxy (src/proxy, built from config.routes), after the /auth routes and before
  // the 404. WebSocket handshakes reach it through the server's 'upgrade' event (see listen).
  const session = loadSession({ cookie: cookies.session, store, idleTimeoutMs: config.session.idleTimeout, now, logger });
  const tokens = new TokenService({ store, providers, keyring, config: config.tokens, now, logger, metrics });
  // The forward-auth verify endpoint on this listener, for requests that carry the shared
  // secret (without one it lives on its own listener only, see cli/start).
  const forwardAuth = config.forwardAuth.enabled && config.forwardAuth.sharedSecret !== undefined
    ? [forwardAuthOnMainListener({ config, store, cookies, tokens, logger, now })]
    : [];
  const proxy = createProxy({ config, tokens, logger, metrics, upgradeSessions: sessionsViaMiddleware(session) });

  const app = new Koa();
  app.keys = keys;
  app.silent = true;
  const chain: Middleware[] = [
    errorHandler(),
    accessLog({ logger, metrics }),
    securityHeaders(),
    session,
    ...forwardAuth,
    // The router's middleware adds `params` to the context it is given; Koa supplies it.
    auth.routes() as Middleware,
    proxy.middleware,
    notFound,
  ];
  for (const middleware of chain) app.use(middleware);

  const servers = new Set<Server>();

  return {
    app,
    config,
    store,
    providers,
    keyring,
    logger,
    metrics,
    readiness,
    ops,
    cookies,
    revoker,
    tokens,
    async start() {
      const results = await Promise.allSettled([...providers.values()].map((provider) => provider.init()));
      results.forEach((result, index) => {
        if (result.status === 'rejected') {
          const id = [...providers.keys()][index];
          logger.warn({ provider: id }, 'provider discovery failed; retrying on first use');
        }
      });
    },
    callback() {
      return app.callback();
    },
    async listen(options = {}) {
      const server = createServer(app.callback());
      server.on('upgrade', proxy.handleUpgrade);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? config.listen.port, options.host ?? config.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.add(server);
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return {
        url: `http://${host}:${address.port}`,
        server,
        close: () => closeServer(server).finally(() => servers.delete(server)),
      };
    },
    async close() {
      readiness.setDraining();
      proxy.dropUpgrades();
      await Promise.all([...servers].map((server) => closeServer(server)));
      servers.clear();
      revoker.close();
      proxy.close();
      await revoker.idle();
      if (ownsStore) await rawStore.close();
    },
  };
}

async function notFound(): Promise<void> {
  throw new NotFoundError();
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
